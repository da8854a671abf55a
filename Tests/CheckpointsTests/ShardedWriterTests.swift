import XCTest
@testable import Checkpoints
import Tensors
import TestSupport

final class ShardedWriterTests: XCTestCase {
    func specs(_ sizes: [String: Int]) -> [TensorSpec] { sizes.map { TensorSpec(name: $0.key, dtype: .U8, shape: [$0.value]) } }

    func testPlanIsGreedyInNameOrderWithOversizedTensorsAlone() {
        let plan = ShardedWriter.plan(specs(["a": 40, "b": 50, "c": 20, "d": 150, "e": 10, "f": 0]), maxShardBytes: 100)
        XCTAssertEqual(plan.map { $0.map(\.name) }, [["a", "b"], ["c"], ["d"], ["e", "f"]])
        XCTAssertEqual(ShardedWriter.plan([], maxShardBytes: 100).count, 1)
        XCTAssertEqual(ShardedWriter.shardName(2, of: 12), "model-00002-of-00012.safetensors")
    }

    func testShardedCheckpointRoundTripsThroughCheckpoint() throws {
        let folder = TemporaryFolder()
        let source = try Checkpoint(path: Fixtures.path("models/stories260K"))
        try source.copyWeights(to: folder.path, maxShardBytes: 300_000)
        try FileManager.default.copyItem(atPath: Fixtures.path("models/stories260K/config.json"), toPath: folder.file("config.json"))
        XCTAssertEqual(folder.contents, ["config.json", "model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                                         "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors", "model.safetensors.index.json"])
        let index = try ShardIndex(path: folder.file("model.safetensors.index.json"))
        XCTAssertEqual(index.metadata["total_size"] as? Int, 1040128)
        XCTAssertEqual(index.weightMap.count, 47)
        let copy = try Checkpoint(path: folder.path)
        XCTAssertEqual(copy.files.count, 4)
        XCTAssertEqual(Set(copy.names), Set(source.names))
        for name in source.names {
            XCTAssertEqual(try copy.tensor(name).elements(as: UInt8.self), try source.tensor(name).elements(as: UInt8.self), name)
        }
        XCTAssertTrue(copy.files.allSatisfy { $0.metadata == ["format": "pt"] })

        // Rewriting in one shard replaces the index by model.safetensors (no stale index left).
        try copy.copyWeights(to: folder.file("single"), maxShardBytes: 10_000_000)
        XCTAssertEqual(TemporaryFolderContents(folder.file("single")), ["model.safetensors"])
    }

    func testShardingOverAnExistingSingleFileRemovesIt() throws {
        let folder = TemporaryFolder()
        let tensors = ["a": Tensor(floats: [1, 2], shape: [2]), "b": Tensor(floats: [3, 4], shape: [2])]
        try SafetensorsWriter.write(to: folder.file("model.safetensors"), tensors: tensors)
        try ShardedWriter.write(folder: folder.path, specs: tensors.map { TensorSpec(name: $0.key, dtype: .F32, shape: [2]) },
                                maxShardBytes: 8) { tensors[$0.name]! }
        XCTAssertEqual(folder.contents, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"])
        let text = String(decoding: fileBytes(folder.file("model.safetensors.index.json")), as: UTF8.self)
        XCTAssertEqual(text, """
        {
          "metadata": {
            "total_size": 16
          },
          "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors"
          }
        }

        """)
    }

    func testFailureMidwayLeavesNoShardsBehind() throws {
        let folder = TemporaryFolder()
        struct Boom: Error {}
        let specs = (0..<4).map { TensorSpec(name: "t\($0)", dtype: .F32, shape: [4]) }
        XCTAssertThrowsError(try ShardedWriter.write(folder: folder.path, specs: specs, maxShardBytes: 16) { spec in
            if spec.name == "t2" { throw Boom() }
            return Tensor(floats: [1, 2, 3, 4], shape: [4])
        })
        XCTAssertEqual(folder.contents, [])
    }

    func testCopyConvertsFloatsAndKeepsIntegers() throws {
        let folder = TemporaryFolder()
        let tensors = ["w": Tensor(floats: [1.5, -2.25, 3.140625, 1e-3], shape: [2, 2]), "ids": Tensor(floats: [1, 2, 3], shape: [3], dtype: .I64)]
        try SafetensorsWriter.write(to: folder.file("a.safetensors"), tensors: tensors)
        try Checkpoint(path: folder.file("a.safetensors")).copyWeights(to: folder.file("b.safetensors"), convertingFloatsTo: .BF16)
        let copy = try Checkpoint(path: folder.file("b.safetensors"))
        XCTAssertEqual(copy.info("w")?.dtype, .BF16)
        XCTAssertEqual(copy.info("ids")?.dtype, .I64)
        XCTAssertEqual(try copy.floats("w"), [1.5, -2.25, 3.140625, 0.00099945068359375])   // torch: tensor([1e-3]).to(bfloat16)
        XCTAssertEqual(try copy.floats("ids"), [1, 2, 3])
    }
}

func TemporaryFolderContents(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
