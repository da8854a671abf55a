/// One encoded example, as calibration, evaluation and training see it.
/// A language-model sequence has only `ids`; a classification example has a `label`
/// (and `tokenTypes` for BERT sentence pairs).
public struct Example: Equatable, Sendable {
    public var ids: [Int32]
    public var tokenTypes: [Int32]?
    public var label: Int?
    /// A regression target (STS-B) when the task is not classification.
    public var target: Float?

    public init(ids: [Int32], tokenTypes: [Int32]? = nil, label: Int? = nil, target: Float? = nil) {
        self.ids = ids
        self.tokenTypes = tokenTypes
        self.label = label
        self.target = target
    }
}
