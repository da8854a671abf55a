// The Whittle library: one import for every module (docs/ARCHITECTURE.md).
@_exported import Tensors
@_exported import Checkpoints
@_exported import Kernels
@_exported import Tokenizers
@_exported import Datasets
@_exported import Models
@_exported import Training
@_exported import Evaluation
@_exported import Passes
@_exported import Reports
@_exported import Recipes
