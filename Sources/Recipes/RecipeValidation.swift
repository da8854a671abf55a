import Passes

extension Recipe {
    /// Whole-recipe checks, after each pass has checked its own keys.
    public func validate() throws {
        if let gate, gateSpecIndex == nil {
            let names = evaluation.map { $0.name ?? $0.displayName }
            throw RecipeError.invalid(jsonPath: "gate.evaluation", message: "no evaluation entry named '\(gate.evaluation)'"
                + (names.isEmpty ? " (the recipe has no \"evaluation\" entries)" : " (entries: \(names.joined(separator: ", ")))"))
        }
        for (i, pass) in passes.enumerated() {
            let path = "passes[\(i)]"
            do { try pass.validate(path: path) } catch let e as PassError {
                throw RecipeError.invalid(jsonPath: e.path, message: e.message)
            }
            if pass.needs.contains(.calibration) && calibration == nil {
                throw RecipeError.invalid(jsonPath: path, message: "'\(pass.kind)' needs calibration data: add a \"calibration\" section with \"data\"")
            }
            if pass.needs.contains(.rationales) && training == nil {
                throw RecipeError.invalid(jsonPath: path, message: "'\(pass.kind)' trains on rationales: add a \"training\" section whose data is a rationale folder (…/distill/svamp) or a JSONL file with input, label, rationale")
            }
            if pass.needs.contains(.training) && training == nil {
                throw RecipeError.invalid(jsonPath: path, message: "'\(pass.kind)' trains: add a \"training\" section with \"data\"")
            }
        }
        // Pruning changes shapes and which weights exist; it must come before quantization.
        if let q = passes.firstIndex(where: { type(of: $0).category == .quantization }),
           let p = passes.lastIndex(where: { type(of: $0).category == .pruning }), p > q {
            throw RecipeError.invalid(jsonPath: "passes[\(p)]",
                                      message: "'\(passes[p].kind)' prunes after '\(passes[q].kind)' quantized (passes[\(q)]): put pruning passes before quantization")
        }
        // At most one weight quantizer: a second would quantize already-quantized tensors.
        let quantizers = passes.indices.filter { type(of: passes[$0]).category == .quantization }
        if quantizers.count > 1 {
            throw RecipeError.invalid(jsonPath: "passes[\(quantizers[1])]",
                                      message: "only one quantization pass per recipe (passes[\(quantizers[0])] already quantizes)")
        }
    }
}

extension Recipe {
    /// The evaluation entry the gate names (by `name`, else by its shown name).
    var gateSpecIndex: Int? {
        guard let gate else { return nil }
        return evaluation.firstIndex { $0.name == gate.evaluation } ?? evaluation.firstIndex { $0.displayName == gate.evaluation }
    }
}
