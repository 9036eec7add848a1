import XCTest
@testable import SweepEngine

// The gradient checks and the convolution path comparisons again, with every product forced onto
// one GEMM kernel (the default run takes the rule's choice), so a CI machine exercises every
// kernel its CPU runs through the layers. A kernel this CPU lacks is skipped.

/// Forces `kernel` around each test of the class it is mixed into.
private func forcing(_ kernel: GemmKernel) throws {
    try XCTSkipUnless(kernel.isSupported, "this CPU cannot run the \(kernel) GEMM kernel")
    GemmKernel.force(kernel)
}

final class GradientCheckPortableGemmTests: GradientCheckTests {
    override func setUpWithError() throws { try forcing(.portable) }
    override func tearDown() { GemmKernel.force(nil) }
}

final class GradientCheckAVX2GemmTests: GradientCheckTests {
    override func setUpWithError() throws { try forcing(.avx2) }
    override func tearDown() { GemmKernel.force(nil) }
}

final class GradientCheckOpenBLASGemmTests: GradientCheckTests {
    override func setUpWithError() throws { try forcing(.openblas) }
    override func tearDown() { GemmKernel.force(nil) }
}

final class ConvPathPortableGemmTests: ConvPathTests {
    override func setUpWithError() throws { try forcing(.portable) }
    override func tearDown() { GemmKernel.force(nil) }
}

final class ConvPathAVX2GemmTests: ConvPathTests {
    override func setUpWithError() throws { try forcing(.avx2) }
    override func tearDown() { GemmKernel.force(nil) }
}
