// Evaluation module. See DESIGN.md §3.
