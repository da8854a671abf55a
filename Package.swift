// swift-tools-version:6.0
import PackageDescription

// Module flow (DESIGN.md §3): Tensors/StrictJSON → Checkpoints/Kernels/Tokenizers → Models, Datasets →
// Training/Evaluation → Passes → Reports → Recipes → compress. A module never imports one below it in that flow,
// and every target lists exactly the modules its files import. Datasets (data files, examples, batching,
// calibration sampling) sits beside Models and needs neither. Only Kernels imports COpenBLAS; CSIMD holds the
// few C loops that need AVX2/F16C (chosen at run time), each finishing in its Swift scalar twin.
let package = Package(
    name: "Whittle",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Whittle", targets: ["Whittle"]),
        .executable(name: "compress", targets: ["compress"]),
        .executable(name: "whittle-bench", targets: ["whittle-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),

        .target(name: "CSIMD"),
        .target(name: "Tensors", dependencies: ["CSIMD"]),
        .target(name: "StrictJSON"),
        .target(name: "Checkpoints", dependencies: ["Tensors", "StrictJSON", "CSIMD"]),
        .target(name: "Kernels", dependencies: ["Tensors", "CSIMD", "COpenBLAS"]),
        .target(name: "Tokenizers", dependencies: ["StrictJSON"]),
        .target(name: "Datasets", dependencies: ["Tensors", "Tokenizers", "CZlib"]),
        .target(name: "Models", dependencies: ["Tensors", "Checkpoints", "Kernels"]),
        .target(name: "Training", dependencies: ["Tensors", "Checkpoints", "Kernels", "Models", "Datasets"]),
        .target(name: "Evaluation", dependencies: ["Checkpoints", "Tokenizers", "Models", "Datasets", "CZlib"]),
        .target(name: "Passes", dependencies: ["Tensors", "Checkpoints", "Kernels", "Models", "Datasets", "Training", "Evaluation"]),
        .target(name: "Reports", dependencies: ["Checkpoints", "Evaluation", "Passes", "CZlib"]),
        .target(name: "Recipes", dependencies: ["StrictJSON", "Checkpoints", "Tokenizers", "Models", "Datasets", "Evaluation",
                                                "Passes", "Reports"]),
        .target(name: "Whittle", dependencies: ["Tensors", "Checkpoints", "Kernels", "Tokenizers", "Datasets", "Models",
                                                "Training", "Evaluation", "Passes", "Reports", "Recipes"]),
        .executableTarget(name: "compress", dependencies: [
            "Whittle", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "whittle-bench", dependencies: ["Whittle"]),
        .target(name: "TestSupport", dependencies: ["Tensors"]),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "CSIMD", "TestSupport"]),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "Tensors", "CSIMD", "TestSupport", "Recipes"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Tensors", "CSIMD", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Tensors", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Checkpoints", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "Checkpoints", "Kernels", "Tensors", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Datasets", "Models", "Tokenizers", "Tensors", "TestSupport"]),
        .testTarget(name: "PassesTests", dependencies: ["Passes", "Training", "Datasets", "Models", "Kernels", "Checkpoints", "Tensors",
                                                        "TestSupport"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Passes", "Evaluation", "CZlib", "TestSupport"]),
        .testTarget(name: "RecipesTests", dependencies: ["Recipes", "Reports", "Passes", "Evaluation", "Datasets", "Models",
                                                         "Checkpoints", "TestSupport"]),
        .testTarget(name: "CompressTests", dependencies: ["compress", "Whittle", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
