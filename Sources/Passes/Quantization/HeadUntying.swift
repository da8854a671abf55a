import Checkpoints
import Models
import Tensors

/// Quantizing the output head of a model whose `lm_head` is tied to the token table.
///
/// A tied head has no tensor of its own, so naming `lm_head` in a quantization pass's `targets` would
/// select nothing. Instead the head is untied first: `lm_head.weight` becomes a copy of the token table
/// (then quantized like any selected weight), the table itself stays as it was for the embedding
/// lookup, and `tie_word_embeddings` becomes false. That is what llama.cpp's Q8_0 / Q4_0 files do with a
/// tied output (the head quantized, the lookup table its own tensor): a decode step reads the head once
/// per token, and at SmolLM2's size the f32 head is a third of a quantized step (BENCHMARKS.md
/// "Quantized decoding"). The cost: the file gains the quantized head (vocab × hidden bytes at int8,
/// half that plus block constants at NF4), and the logits are no longer the f32 head's (the report
/// measures the difference). Used by the `int8` and `nf4` passes; the nf4 pass also writes
/// `llm_int8_skip_modules` as a list, so bitsandbytes loads the head as a 4-bit module
/// (`NF4Quantization.skipModules`).
extension TensorTargets {
    /// The head tensor a tied model would gain (and the table it copies) when `lm_head` is named exactly
    /// in `targets`; nil when the model is not a tied causal LM or the head is not targeted.
    func targetedTiedHead(in model: TensorStore, pass: String) throws -> (head: TensorSpec, table: String)? {
        guard let config = try? ModelConfig.from(json: model.config), config.isCausalLM, config.tieWordEmbeddings else { return nil }
        let layout = try FamilyLayout(family: config.family, store: model)
        let head = layout.lmHead + ".weight"
        guard targets.contains(layout.lmHead), model.spec(head) == nil else { return nil }
        if config.family == .gpt2 {
            // FamilyConfigs reads every GPT-2 as tied: an untied head would load in transformers but not in our runtime.
            throw PassError("\(pass).targets", "\"\(layout.lmHead)\" on GPT-2 is not supported: Whittle runs GPT-2's head tied to "
                            + "the token table, so an untied quantized head would not be used; drop \"\(layout.lmHead)\" from targets")
        }
        if ignore.contains(where: { Self.matches($0, module: layout.lmHead) }) {
            throw PassError("\(pass).targets", "\"\(layout.lmHead)\" is both a target and ignored")
        }
        guard let table = model.spec(layout.tokenEmbedding) else {
            throw PassError(pass, "\(layout.tokenEmbedding) is missing: a tied head needs the token table")
        }
        return (TensorSpec(name: head, dtype: table.dtype, shape: table.shape), layout.tokenEmbedding)
    }

    /// Unties the targeted head of `model` (see above); returns the new tensor's name, or nil.
    func untieTargetedHead(in model: EditableCheckpoint, pass: String) throws -> String? {
        guard let (head, table) = try targetedTiedHead(in: model, pass: pass) else { return nil }
        model.setLazy(head) { try model.tensor(table) }
        model.config["tie_word_embeddings"] = false
        return head.name
    }

    /// The selected weights, with the head a tied model would gain (for `--dry-run` plans).
    func selectedWithUntiedHead(in model: TensorStore, pass: String) throws -> [TensorSpec] {
        selected(in: model) + [try targetedTiedHead(in: model, pass: pass)?.head].compactMap { $0 }
    }
}
