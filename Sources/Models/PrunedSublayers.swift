/// Reads the `whittle` section the pruning passes write into `config.json` (DESIGN.md §4):
/// `{"whittle": {"skipped_sublayers": [{"layer": 1, "kind": "attention"}, …]}}`. Stock loaders
/// ignore the section (the sublayers' output projections are zero there); our runtime skips the work.
/// A layer with zero heads or zero FFN width (the `sliced` layout) is skipped by the forward itself.
enum PrunedSublayers {
    static func read(from config: [String: Any]) throws -> Set<SublayerID> {
        guard let section = config["whittle"] as? [String: Any], let list = section["skipped_sublayers"] else { return [] }
        guard let entries = list as? [[String: Any]] else {
            throw ModelError.invalidConfig(key: "whittle.skipped_sublayers", reason: "must be a list of {\"layer\": n, \"kind\": \"attention\"|\"mlp\"}")
        }
        return try Set(entries.enumerated().map { i, e in
            guard let layer = e["layer"] as? Int, let raw = e["kind"] as? String, let kind = SublayerKind(rawValue: raw) else {
                throw ModelError.invalidConfig(key: "whittle.skipped_sublayers[\(i)]", reason: "needs an integer \"layer\" and \"kind\" \"attention\" or \"mlp\"")
            }
            return SublayerID(layer: layer, kind: kind)
        })
    }
}
