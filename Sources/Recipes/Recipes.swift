// Recipes module. See DESIGN.md §3.
