// swift-tools-version:6.0
import PackageDescription

// Module flow (DESIGN.md §3): Checkpoints/Tokenizers → Models → Training/Evaluation → Passes → Reports → Recipes → compress.
// A module never imports one below it in that flow. Only Kernels imports COpenBLAS; CSIMD holds the
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
        .target(name: "Checkpoints", dependencies: ["Tensors", "StrictJSON"]),
        .target(name: "Kernels", dependencies: ["Tensors", "CSIMD", "COpenBLAS"]),
        .target(name: "Tokenizers", dependencies: ["StrictJSON"]),
        .target(name: "Models", dependencies: ["Tensors", "Checkpoints", "Kernels"]),
        .target(name: "Training", dependencies: ["Tensors", "Kernels", "Models"]),
        .target(name: "Evaluation", dependencies: ["Tensors", "Kernels", "Models", "Tokenizers", "CZlib"]),
        .target(name: "Passes", dependencies: ["Tensors", "Checkpoints", "Kernels", "Models", "Training", "Evaluation"]),
        .target(name: "Reports", dependencies: ["Tensors", "Evaluation", "Passes", "CZlib"]),
        .target(name: "Recipes", dependencies: ["Tensors", "StrictJSON", "Checkpoints", "Models", "Tokenizers", "Evaluation", "Passes", "Reports"]),
        .target(name: "Whittle", dependencies: ["Tensors", "Checkpoints", "Kernels", "Tokenizers", "Models",
                                                "Training", "Evaluation", "Passes", "Reports", "Recipes"]),
        .executableTarget(name: "compress", dependencies: [
            "Whittle", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "whittle-bench", dependencies: ["Whittle"]),
        .target(name: "TestSupport", dependencies: ["Tensors"]),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "CSIMD", "TestSupport"]),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "CSIMD", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "TestSupport"]),
        .testTarget(name: "PassesTests", dependencies: ["Passes", "TestSupport"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "TestSupport"]),
        .testTarget(name: "RecipesTests", dependencies: ["Recipes", "TestSupport"]),
        .testTarget(name: "CompressTests", dependencies: ["compress", "Whittle", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
