import XCTest
import Tensors

/// Fails with the worst element and the first values when `actual` is not within atol + rtol·|expected|.
public func assertClose(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float = 0,
                        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    if let problem = closeness(actual, expected, atol: atol, rtol: rtol) {
        XCTFail("\(message()) \(problem)", file: file, line: line)
    }
}

public func assertClose(_ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float = 0,
                        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    if let problem = closeness(actual, expected, atol: atol, rtol: rtol) {
        XCTFail("\(message()) \(problem)", file: file, line: line)
    }
}
