import COpenBLAS
import CSweepKernels
import Foundation
import SweepCore

/// The arithmetic of a network's matrix products (dense layers, convolutions). Everything else
/// (parameters, optimizer state, activations, gradients between layers, the loss) is fp32 either way.
///
/// Contract: `.fp32` multiplies in single precision (`gemm`: Sweep's own kernels or OpenBLAS). `.bf16` is mixed precision,
/// as PyTorch's CPU autocast and Keras' `mixed_bfloat16`: each product's operands are rounded to
/// bfloat16 (8 significant bits, round to nearest even) and the products are summed in fp32. Where
/// AVX512-BF16's dot product runs at twice the fp32 arithmetic rate (AMD's CPUs) by it
/// (`sweep_gemm_bf16`); elsewhere (Intel's, CPUs without AVX512-BF16) the operands are rounded
/// and multiplied by the fp32 kernels: the same rounding, fp32 speed (`sweep_bf16_uses_dot`;
/// `SWEEP_BF16` forces either). Results are bit-identical run to run on one machine, not between
/// the two paths. Convolutions on the
/// Winograd and direct paths stay fp32 (see `Conv2D.precision`).
public enum Precision: String, Codable, Sendable, CaseIterable {
    case fp32, bf16
}

/// Row-major C = alpha * op(A) * op(B) + beta * C, with op(A) (M,K), op(B) (K,N), C (M,N).
/// `transA`: A is stored (K,M); `transB`: B is stored (N,K). Run by the kernel `GemmKernel.choice`
/// names for the shape (Sweep's own AVX-512 / AVX2 / portable kernel, or OpenBLAS's sgemm).
@inline(__always)
public func gemm(_ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int,
                 _ alpha: Float, _ A: UnsafePointer<Float>, _ lda: Int,
                 _ B: UnsafePointer<Float>, _ ldb: Int,
                 _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int) {
    let ta: Int32 = transA ? 1 : 0, tb: Int32 = transB ? 1 : 0
    let kernel = sweep_sgemm_choose(ta, tb, Int32(M), Int32(N), Int32(K))
    if kernel == SWEEP_GEMM_OPENBLAS
        || sweep_sgemm(kernel, ta, tb, Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc)) == 0 {
        sweep_gemm_note(SWEEP_GEMM_OPENBLAS)
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
    }
}

/// The fp32 GEMM kernels. Which one runs a product is a fixed rule of the CPU's features, of the
/// kernels OpenBLAS runs and of the product's shape (`sweep_sgemm_choose` in gemm_f32.c, measured
/// in bench/README.md), or the one `SWEEP_GEMM` names; never a timing, so a trial computes the same
/// bits on every run on one machine.
public enum GemmKernel: String, CaseIterable, Sendable {
    /// OpenBLAS's cblas_sgemm (the fallback, and the reference of the tests).
    case openblas
    /// Plain C, any CPU.
    case portable
    /// AVX2 + FMA.
    case avx2
    /// AVX-512F.
    case avx512

    var code: Int32 {
        switch self {
        case .openblas: SWEEP_GEMM_OPENBLAS
        case .portable: SWEEP_GEMM_PORTABLE
        case .avx2: SWEEP_GEMM_AVX2
        case .avx512: SWEEP_GEMM_AVX512
        }
    }

    /// Whether this CPU runs the kernel.
    public var isSupported: Bool { self == .openblas || sweep_sgemm_supported(code) != 0 }

    /// The kernel `gemm` runs for this shape now.
    public static func choice(_ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int) -> GemmKernel {
        let c = sweep_sgemm_choose(transA ? 1 : 0, transB ? 1 : 0, Int32(M), Int32(N), Int32(K))
        return allCases.first { $0.code == c } ?? .openblas
    }

    /// The rule's kernel for this shape, given whether OpenBLAS runs AVX2 kernels or wider.
    public static func rule(openBLASWide: Bool, _ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int) -> GemmKernel {
        let c = sweep_sgemm_rule(openBLASWide ? 1 : 0, transA ? 1 : 0, transB ? 1 : 0, Int32(M), Int32(N), Int32(K))
        return allCases.first { $0.code == c } ?? .openblas
    }

    /// The kernels the linked OpenBLAS runs (`openblas_get_corename`: "Haswell", "SkylakeX",
    /// "Prescott", ...).
    public static var openBLASCore: String { String(cString: openblas_get_corename()) }

    /// Whether the linked OpenBLAS runs AVX2 kernels or wider, which the rule's measurements assume.
    public static var openBLASIsWide: Bool { sweep_openblas_core_is_wide(openblas_get_corename()) != 0 }

    /// Every later `gemm` runs `kernel` (nil: the rule again). The tests and `SWEEP_GEMM` use it.
    public static func force(_ kernel: GemmKernel?) { sweep_gemm_force(kernel.map { $0.code } ?? -1) }

    /// The kernels that ran an fp32 product in this process so far.
    public static var used: [GemmKernel] {
        let bits = sweep_gemm_used()
        return allCases.filter { bits & (1 << UInt32($0.code)) != 0 }
    }

    /// Every GEMM kernel that ran in this process, as one word for reports: "avx512-bf16" (the
    /// `.bf16` kernel) or "bf16-rounded" (`.bf16` products by the fp32 kernels) first if it ran,
    /// then `used`, joined by "+"; "none" before any product.
    public static var usedSummary: String {
        let bits = sweep_gemm_used()
        let bf16 = [(SWEEP_GEMM_BF16, "avx512-bf16"), (SWEEP_GEMM_BF16_ROUNDED, "bf16-rounded")]
            .filter { bits & (1 << UInt32($0.0)) != 0 }.map(\.1)
        let names = bf16 + used.map(\.rawValue)
        return names.isEmpty ? "none" : names.joined(separator: "+")
    }

    /// Applies `SWEEP_GEMM` from the environment: `auto` or unset (the rule), or a kernel's name to
    /// run every fp32 product with it. Throws `InputError` for another value or a kernel this CPU lacks.
    /// With `SWEEP_GEMM_LOG=1`, each distinct fp32 product shape is printed once on stderr with its kernel.
    public static func configure(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        sweep_gemm_log(environment["SWEEP_GEMM_LOG"] == "1" ? 1 : 0)
        try configureBF16(environment["SWEEP_BF16"])
        guard let value = environment["SWEEP_GEMM"], !value.isEmpty, value != "auto" else { force(nil); return }
        let accepted = "auto, " + allCases.map(\.rawValue).joined(separator: ", ")
        guard let kernel = GemmKernel(rawValue: value) else {
            throw InputError(field: "SWEEP_GEMM", "'\(value)' is not a GEMM kernel (accepted: \(accepted))")
        }
        guard kernel.isSupported else {
            let here = allCases.filter(\.isSupported).map(\.rawValue).joined(separator: ", ")
            throw InputError(field: "SWEEP_GEMM", "this CPU cannot run the \(value) kernel (it runs: auto, \(here))")
        }
        force(kernel)
    }

    /// `SWEEP_BF16`: `auto` or unset (the rule, `sweep_bf16_uses_dot`), `avx512-bf16` (the dot
    /// product kernel; an error on a CPU without it) or `rounded` (rounded operands, fp32 kernels).
    static func configureBF16(_ value: String?) throws {
        switch value ?? "auto" {
        case "", "auto": sweep_bf16_force(-1)
        case "rounded": sweep_bf16_force(0)
        case "avx512-bf16":
            guard sweep_bf16_supported() != 0 else {
                throw InputError(field: "SWEEP_BF16", "this CPU has no AVX512-BF16 (it runs: auto, rounded)")
            }
            sweep_bf16_force(1)
        case let other:
            throw InputError(field: "SWEEP_BF16", "'\(other)' is not a bf16 product path (accepted: auto, avx512-bf16, rounded)")
        }
    }
}

/// `gemm` in the given precision (see `Precision`).
@inline(__always)
public func gemm(_ precision: Precision, _ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int,
                 _ alpha: Float, _ A: UnsafePointer<Float>, _ lda: Int,
                 _ B: UnsafePointer<Float>, _ ldb: Int,
                 _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int) {
    if precision == .fp32 {
        gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    } else if sweep_bf16_uses_dot() == 0
                || sweep_gemm_bf16(transA ? 1 : 0, transB ? 1 : 0, Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda),
                                   B, Int32(ldb), beta, C, Int32(ldc)) == 0 {
        gemmRoundedBF16(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    }
}

/// x rounded to the nearest bfloat16 (ties to even), as an fp32 value.
public func roundedToBF16(_ x: Float) -> Float {
    if x.isNaN { return x }
    let b = x.bitPattern
    return Float(bitPattern: (b &+ 0x7FFF &+ ((b >> 16) & 1)) & 0xFFFF_0000)
}

/// The `.bf16` product by the fp32 kernels: the operands rounded to bfloat16 into this thread's
/// scratch (`sweep_bf16_round`), then `gemm`.
func gemmRoundedBF16(_ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int,
                     _ alpha: Float, _ A: UnsafePointer<Float>, _ lda: Int,
                     _ B: UnsafePointer<Float>, _ ldb: Int,
                     _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int) {
    guard M > 0 && N > 0 else { return }
    sweep_gemm_note(SWEEP_GEMM_BF16_ROUNDED)
    let aRows = transA ? K : M, aCols = transA ? M : K, bRows = transB ? N : K, bCols = transB ? K : N
    let a = sweep_bf16_scratch(0, max(aRows * aCols, 1))!, b = sweep_bf16_scratch(1, max(bRows * bCols, 1))!
    sweep_bf16_round(a, A, Int32(aRows), Int32(aCols), Int32(lda))
    sweep_bf16_round(b, B, Int32(bRows), Int32(bCols), Int32(ldb))
    gemm(transA, transB, M, N, K, alpha, a, max(aCols, 1), b, max(bCols, 1), beta, C, ldc)
}

/// The naive reference for `gemm`, same arguments (sums in Double): kept beside the fast path and
/// used by the tests to check every kernel and every product the layers make.
public func gemmNaive(_ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int,
                      _ alpha: Float, _ A: UnsafePointer<Float>, _ lda: Int,
                      _ B: UnsafePointer<Float>, _ ldb: Int,
                      _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int) {
    for i in 0..<M {
        for j in 0..<N {
            var acc: Double = 0
            for k in 0..<K {
                let a = transA ? A[k * lda + i] : A[i * lda + k]
                let b = transB ? B[j * ldb + k] : B[k * ldb + j]
                acc += Double(a) * Double(b)
            }
            let prior = beta == 0 ? 0 : beta * C[i * ldc + j]
            C[i * ldc + j] = alpha * Float(acc) + prior
        }
    }
}

/// Thread and floating-point settings for a training thread.
public enum ComputeSettings {
    /// One BLAS thread by default: trials run in parallel as processes, and results must be
    /// bit-identical for the same seed and thread count. Applies `SWEEP_GEMM` (`GemmKernel.configure`)
    /// and `SWEEP_INT8_KERNEL` (`Int8Kernel.configure`).
    public static func configure(blasThreads: Int = 1) throws {
        try GemmKernel.configure()
        try Int8Kernel.configure()
        openblas_set_num_threads(Int32(blasThreads))
        sweep_enable_ftz_daz()
    }
}
