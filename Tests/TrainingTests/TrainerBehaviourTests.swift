import Kernels
import Models
import TestSupport
import Training
import XCTest

/// Trainer pieces: hooks under the tape, accumulation, resume, schedules, losses.
final class TrainerBehaviourTests: XCTestCase {
    func load(_ name: String) throws -> TransformerModel {
        let folder = Fixtures.path("training/\(name)")
        _ = try Fixtures.required("training/\(name)/config.json", regenerate: "/root/venv/bin/python tools/reference/training_reference.py \(name)")
        return try TransformerModel.load(path: folder)
    }

    let lmBatch = TrainingBatch.languageModel([[3, 7, 1, 9, 4, 2], [5, 5, 8, 30, 12]])

    func testTapedForwardMatchesInferenceWithHooks() throws {
        let model = try load("llama_gqa")
        var options = ForwardOptions(headMask: [[1, 0, 0.5, 1], [0, 1, 1, 1]], neuronMask: [Array(repeating: 1, count: 32), (0..<32).map { Float($0 % 3) / 2 }],
                                     skip: [SublayerID(layer: 1, kind: .attention)], attention: .clippedSoftmax(gamma: -0.03, zeta: 1))
        options.capture = [.ffnActivation]
        let reference = try model.forward(lmBatch.input, options: options)
        let taped = try TrainableModel(model).forward(lmBatch.input, options: options, tape: Tape())
        assertClose(taped.logits.value, reference.logits, atol: 1e-5, "logits under hooks")
        assertClose(taped.captures[CaptureKey(layer: 0, point: .ffnActivation)]!.value,
                    reference.captures[CaptureKey(layer: 0, point: .ffnActivation)]!.values, atol: 1e-5, "capture")
    }

    /// Trainable head gates get the gradient of the loss (checked by central differences in Float).
    func testHeadGateGradientMatchesFiniteDifference() throws {
        let trainable = try TrainableModel(try load("llama_gqa"))
        let gates = (0..<2).map { Variable.parameter([1, 0.8, 0.6, 1.2], shape: [4], name: "gate\($0)", decay: false) }
        func loss() throws -> Variable {
            let tape = Tape()
            let l = try Trainer.supervisedLoss(trainable, lmBatch, tape, options: ForwardOptions(headGates: gates))
            tape.backward(from: l)
            return l
        }
        _ = try loss()
        let analytic = gates[1].grad
        var numeric: [Float] = []
        for h in 0..<4 {
            let old = gates[1].value[h]
            gates[1].value[h] = old + 1e-2; let up = try loss().value[0]
            gates[1].value[h] = old - 1e-2; let down = try loss().value[0]
            gates[1].value[h] = old
            numeric.append((up - down) / 2e-2)
        }
        XCTAssertGreaterThan(analytic.map(abs).max()!, 1e-3, "gate gradients must be non-trivial")
        assertClose(analytic, numeric, atol: 2e-3, rtol: 2e-2, "head gate gradient")
    }

    /// A substituted activation is a constant: nothing before it gets a gradient.
    func testSubstitutionStopsGradient() throws {
        let trainable = try TrainableModel(try load("llama_gqa"))
        let tape = Tape()
        let replace = SiteHook([.blockOutput], layers: [1], .replace { _ in Array(repeating: 0.1, count: 12 * 16) })
        let l = try Trainer.supervisedLoss(trainable, lmBatch, tape, options: ForwardOptions(hooks: [replace]))
        tape.backward(from: l)
        let q0 = (trainable.model.layers[0].q as! Linear).weightParameter.grad
        XCTAssertTrue(q0.isEmpty || q0.allSatisfy { $0 == 0 }, "layer 0 must get no gradient through the substitution")
        XCTAssertTrue(trainable.model.head.finalNorm!.weightParameter.grad.contains { $0 != 0 }, "the head still trains")
    }

    func testFakeQuantizeStraightThrough() {
        let w = Variable.parameter([0.5, -1, 0.25, 0.1, 2, -0.3], shape: [2, 3], name: "w")
        let tape = Tape()
        let q = tape.fakeQuantize(w, .symmetric(bits: 2, .row, clip: 0.5))
        // Clamped to ±0.5, per row m = 0.5, levels {−0.5, 0, 0.5}: 0.25 ties to 0 (half to even), 0.1 → 0, −0.3 → −0.5.
        XCTAssertEqual(q.value, [0.5, -0.5, 0, 0, 0.5, -0.5], "levels")
        tape.backward(from: tape.weightedSum([(tape.meanSquaredError(q, target: [0, 0, 0, 0, 0, 0]), 1)]))
        // TI's STE zeroes the gradient where |w| ≥ clip (0.5 itself included); the rest passes, nonzero where ŵ ≠ 0.
        XCTAssertEqual(w.grad.map { $0 != 0 }, [false, false, false, false, false, true], "gradient only inside the clip and where ŵ ≠ 0")
        XCTAssertEqual(w.grad[5], 2 * -0.5 / 6, "the straight-through gradient is the output's")
    }

    func testAccumulationEqualsFullBatch() throws {
        let model = try load("bert_classifier")
        var settings = TrainerSettings()
        settings.lr = 1e-3; settings.steps = 1; settings.maxGradNorm = nil
        let full = TrainingBatch.classification([[2, 5, 7, 9], [4, 3, 1, 8]], labels: [1, 2])
        let halves = [TrainingBatch.classification([[2, 5, 7, 9]], labels: [1]), TrainingBatch.classification([[4, 3, 1, 8]], labels: [2])]
        let a = try Trainer(model: try TrainableModel(model), settings: settings)
        let b = try Trainer(model: try TrainableModel(try load("bert_classifier")), settings: settings)   // its own weights
        let la = try a.train([full]), lb = try b.train(halves)
        XCTAssertEqual(la, lb, accuracy: 1e-5)
        func classifier(_ t: Trainer) -> Variable { (t.model.model.head.classifier as! Linear).weightParameter }
        func q0(_ t: Trainer) -> [Float] { (t.model.model.layers[0].q as! Linear).weight }
        assertClose(classifier(b).grad, classifier(a).grad, atol: 1e-6, "accumulated gradient")
        assertClose(q0(b), q0(a), atol: 1e-6, "updated weights")
    }

    func testResumeContinuesExactly() throws {
        let model = try load("gpt2")
        var settings = TrainerSettings()
        settings.lr = 1e-3; settings.steps = 4; settings.warmupSteps = 1
        let batches = [lmBatch, TrainingBatch.languageModel([[1, 2, 3, 4], [9, 8, 7, 6]])]
        let straight = try Trainer(model: try TrainableModel(model), settings: settings)
        try straight.run(batch: { batches[$0 % 2] })

        let path = NSTemporaryDirectory() + "whittle-resume-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try Trainer(model: try TrainableModel(try load("gpt2")), settings: settings)
        try first.run(batch: { batches[$0 % 2] }, checkpoint: TrainingCheckpoint(path: path, every: 2))
        let resumed = try Trainer(model: try TrainableModel(try load("gpt2")), settings: settings)
        try resumed.resume(from: path)
        XCTAssertEqual(resumed.step, 4)
        XCTAssertEqual(resumed.lossCurve, straight.lossCurve)

        // Interrupt after 2 steps, resume, finish: identical to the straight run.
        let partial = try Trainer(model: try TrainableModel(try load("gpt2")), settings: settings)
        _ = try partial.train([batches[0]]); _ = try partial.train([batches[1]])
        try partial.save(to: path)
        let cont = try Trainer(model: try TrainableModel(try load("gpt2")), settings: settings)
        try cont.resume(from: path)
        try cont.run(batch: { batches[$0 % 2] })
        XCTAssertEqual(cont.lossCurve, straight.lossCurve)
        assertClose(cont.model.model.embeddings.tokens, straight.model.model.embeddings.tokens, atol: 0, "weights after resume")
    }

    func testResumeRejectsForeignFile() throws {
        let trainer = try Trainer(model: try TrainableModel(try load("gpt2")), settings: TrainerSettings())
        XCTAssertThrowsError(try trainer.resume(from: Fixtures.path("training/gpt2/model.safetensors"))) { error in
            guard case TrainingError.checkpointMismatch(_, let tensor, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(tensor, "__metadata__.step")
        }
    }

    func testSettingsValidation() {
        var s = TrainerSettings(); s.warmupSteps = 200; s.steps = 100
        XCTAssertThrowsError(try s.validate()) { XCTAssertEqual($0 as? TrainingError, .invalidSetting(key: "warmup_steps", reason: "must be in 0...100, got 200")) }
    }

    func testScheduleShapes() {
        let linear = LearningRateSchedule(peak: 1, warmupSteps: 2, totalSteps: 10, decay: .linear)
        XCTAssertEqual((0..<10).map { linear.rate(step: $0) }, [0.5, 1, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125])
        let cosine = LearningRateSchedule(peak: 2, warmupSteps: 0, totalSteps: 4, decay: .cosine)
        assertClose((0..<4).map { cosine.rate(step: $0) }, [2, 1.7071068, 1, 0.29289323], atol: 1e-6)
    }

    func testDistillationLossGradient() {
        let s = Variable.parameter([1, 2, 0.5, -1, 0, 3], shape: [2, 3], name: "s")
        let teacher: [Float] = [0.5, 1, 2, 1, 1, -1]
        let tape = Tape()
        let kl = tape.distillation(student: s, teacher: teacher, classes: 3, temperature: 2, kl: true)
        tape.backward(from: kl)
        func klValue(_ x: [Double]) -> Double {
            var total = 0.0
            for r in 0..<2 {
                let st = (0..<3).map { x[r * 3 + $0] / 2 }, tt = (0..<3).map { Double(teacher[r * 3 + $0]) / 2 }
                let zs = log(st.map(exp).reduce(0, +)), zt = log(tt.map(exp).reduce(0, +))
                for j in 0..<3 { let pt = exp(tt[j] - zt); total += pt * ((tt[j] - zt) - (st[j] - zs)) }
            }
            return total / 2 * 4
        }
        XCTAssertEqual(Double(kl.value[0]), klValue(s.value.map(Double.init)), accuracy: 1e-5)
        let numeric = (0..<6).map { i -> Float in
            var up = s.value.map(Double.init), down = up
            up[i] += 1e-4; down[i] -= 1e-4
            return Float((klValue(up) - klValue(down)) / 2e-4)
        }
        assertClose(s.grad, numeric, atol: 1e-4, "KL gradient")
    }
}

final class OptimizerTests: XCTestCase {
    /// torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.5) on p=[1, -2] with grads [0.5, 1] then [1, 1]:
    /// step 1 buf = g + wd·p = [1, 0] → p = [0.9, -2]; step 2 buf = 0.9·buf + g + wd·p = [0.9+1+0.45, 0+1-1] → p = [0.665, -2].
    func testSGDMomentumMatchesTorchFormula() {
        let p = Variable.parameter([1, -2], shape: [2, 1], name: "p")
        let sgd = SGD(parameters: [p], momentum: 0.9, weightDecay: 0.5)
        p.grad = [0.5, 1]; sgd.step(lr: 0.1)
        assertClose(p.value, [0.9, -2], atol: 1e-6)
        p.grad = [1, 1]; sgd.step(lr: 0.1)
        assertClose(p.value, [0.665, -2], atol: 1e-6)
    }

    /// AdamW skips weight decay on parameters marked `decay: false` (norms, biases).
    func testAdamWDecayOnlyOnMatrices() {
        let w = Variable.parameter([1, 1], shape: [1, 2], name: "w"), b = Variable.parameter([1], shape: [1], name: "b")
        XCTAssertTrue(w.decay); XCTAssertFalse(b.decay)
        let adam = AdamW(parameters: [w, b], weightDecay: 0.5)
        w.grad = [0, 0]; b.grad = [0]
        adam.step(lr: 0.1)
        assertClose(w.value, [0.95, 0.95], atol: 1e-7, "decayed")
        assertClose(b.value, [1], atol: 0, "not decayed")
    }

    func testClipGradientNorm() {
        let a = Variable.parameter([0, 0], shape: [2], name: "a")
        a.grad = [3, 4]
        XCTAssertEqual(clipGradientNorm([a], maxNorm: 1), 5)
        assertClose(a.grad, [0.6, 0.8], atol: 1e-6)
    }
}
