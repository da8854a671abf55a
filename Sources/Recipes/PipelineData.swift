import Foundation
import Evaluation
import Passes

/// Reads the recipe's data sections into examples for calibration, training and evaluation.
struct PipelineData {
    let recipe: Recipe
    let modelFolder: String

    init(recipe: Recipe, modelFolder: String) throws {
        self.recipe = recipe
        self.modelFolder = modelFolder
    }

    func calibration(_ spec: DataSpec) throws -> [Example] {
        throw RecipeError.invalid(jsonPath: spec.path, message: "data loading is not wired yet")
    }
}

/// Evaluates a model on the recipe's evaluation entries.
struct RecipeEvaluator {
    let specs: [EvaluationSpec]
    let data: PipelineData
    let progress: ProgressReporter
    let log: (String) -> Void

    func evaluate(_ model: AnyObject) throws -> [MetricResult] {
        guard specs.isEmpty else {
            throw RecipeError.invalid(jsonPath: specs[0].data.path, message: "evaluation is not wired yet")
        }
        return []
    }
}
