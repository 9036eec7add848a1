// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "Sweep",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "sweep", targets: ["SweepCLI"]),
        .executable(name: "sweep-bench", targets: ["SweepBench"]),
        .library(name: "SweepEngine", targets: ["SweepEngine"]),
        .library(name: "SweepData", targets: ["SweepData"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C libraries from Debian: libopenblas-dev (+ liblapacke-dev) and zlib1g-dev.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS",
                       providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),

        // The engine's element-wise and data-movement kernels, in C so they vectorize (AVX2/AVX-512
        // clones chosen at run time); each has a Swift reference the tests compare against.
        .target(name: "CSweepKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])],
                linkerSettings: [.linkedLibrary("openblas")]),  // openblas_get_corename (gemm_f32.c)
        // Starting trial processes: posix_spawn with a new process group, default signals, only
        // stdin/stdout/stderr inherited (Foundation's Process scans /proc/self/fd on every start).
        .target(name: "CSweepSpawn"),
        // Shared vocabulary: seeded random generators, user-facing errors.
        .target(name: "SweepCore", dependencies: [.product(name: "Yams", package: "Yams")]),
        // Data sets: loaders (IDX, CSV, CIFAR-10 binary), the built-in digits, splits, scaling.
        .target(name: "SweepData", dependencies: ["SweepCore", "CZlib"]),
        // The CPU training engine: layers, model, optimizers, training loop, config files.
        .target(name: "SweepEngine", dependencies: [
            "SweepCore", "COpenBLAS", "CSweepKernels", "SweepData",
        ]),
        // Search spaces, samplers (random, grid, TPE, GP) and schedulers (ASHA, Hyperband, median).
        .target(name: "SweepSearch", dependencies: ["SweepCore", "SweepEngine", "COpenBLAS"]),
        // Studies and trials in Optuna's schema (optuna.load_study reads them): in an SQLite file via
        // GRDB, or in PostgreSQL via postgres-nio.
        .target(name: "SweepStorage", dependencies: [
            "SweepCore", "SweepSearch", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        // The local process pool: trial processes, the line protocol, the search loop, the leaderboard.
        .target(name: "SweepRunner", dependencies: ["CSweepSpawn", "SweepCore", "SweepEngine", "SweepSearch", "SweepStorage"]),
        // The daemon: `sweep serve`, its JSON API on a Unix socket (and optionally HTTP with a
        // token), one shared trial pool, recovery of interrupted studies; and the API's client.
        .target(name: "SweepDaemon", dependencies: [
            "SweepCore", "SweepSearch", "SweepStorage", "SweepRunner",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Benchmarks of the search side (sampler regret and cost): `sweep-bench`.
        .executableTarget(name: "SweepBench", dependencies: [
            "SweepCore", "SweepData", "SweepEngine", "SweepSearch", "SweepStorage", "COpenBLAS", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The `sweep` command: a thin shell over the library modules.
        .executableTarget(name: "SweepCLI", dependencies: [
            "SweepCore", "SweepEngine", "SweepData", "SweepSearch", "SweepStorage", "SweepRunner", "SweepDaemon",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Tests' shared help: a private PostgreSQL server (initdb in a temporary folder).
        .target(name: "SweepTestSupport", path: "Tests/SweepTestSupport"),
        .testTarget(name: "SweepCoreTests", dependencies: ["SweepCore"]),
        .testTarget(name: "SweepDataTests", dependencies: ["SweepData"]),
        .testTarget(name: "SweepEngineTests", dependencies: ["SweepEngine", "SweepData"]),
        .testTarget(name: "SweepSearchTests", dependencies: ["SweepSearch", "SweepCore", "SweepEngine"]),
        .testTarget(name: "SweepStorageTests", dependencies: [
            "SweepStorage", "SweepSearch", "SweepCore", "SweepTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .testTarget(name: "SweepRunnerTests", dependencies: ["SweepRunner", "SweepStorage", "SweepSearch", "SweepCore"]),
        .testTarget(name: "SweepDaemonTests", dependencies: [
            "SweepDaemon", "SweepRunner", "SweepStorage", "SweepSearch", "SweepCore", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "SweepCLITests", dependencies: ["SweepEngine", "SweepData", "SweepDaemon", "SweepTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
