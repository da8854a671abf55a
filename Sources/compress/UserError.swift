import ArgumentParser
import Whittle
import Foundation

/// Runs `body`; any error becomes one line on stderr and exit code 1 (never a stack trace).
func exitOnUserError(_ body: () throws -> Void) throws {
    do { try body() } catch let error as ExitCode { throw error } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// Runs `body`; a violated accuracy gate becomes one line on stderr and exit code 3 (`GateViolation.exitCode`).
func exitOnGateViolation<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let violation as GateViolation {
        FileHandle.standardError.write(Data("error: \(violation)\n".utf8))
        throw ExitCode(GateViolation.exitCode)
    }
}
