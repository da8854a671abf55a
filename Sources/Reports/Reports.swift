// Reports module. See DESIGN.md §3.
