// Kernels module. See DESIGN.md §3.
