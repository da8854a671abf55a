// Tokenizers module. See DESIGN.md §3.
