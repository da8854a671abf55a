// Passes module. See DESIGN.md §3.
