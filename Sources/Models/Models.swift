// Models module. See DESIGN.md §3.
