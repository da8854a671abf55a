// Training module. See DESIGN.md §3.
