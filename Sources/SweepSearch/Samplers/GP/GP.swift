/// The parts of the Gaussian-process sampler, each usable and tested on its own:
///
/// - `GP.ScrambledHalton` (Halton.swift): the quasi-random points of start-up and of the
///   acquisition's first sweep.
/// - `GP.Encoding` (Encoding.swift): the search space as a feature box (unit values, one-hot
///   categories, 0.5 for inactive parameters) and back.
/// - `GP.Cholesky` (Cholesky.swift): the LAPACK / BLAS calls.
/// - `GP.KernelParams`, `GP.MarginalLikelihood` (Kernel.swift, MarginalLikelihood.swift): the
///   Matérn-5/2 ARD kernel and its log marginal likelihood with the analytic gradient.
/// - `GP.BoxLBFGS` (LBFGS.swift): the optimiser of the kernel's hyperparameters.
/// - `GP.Model` (Model.swift): a fitted GP's posterior mean and variance.
/// - `GP.logEI` (LogEI.swift): log expected improvement, stable far into the tail.
/// - `GP.Acquisition` (Acquisition.swift): log EI over candidate points and a compass search.
///
/// Dimension letters used in shape comments: N = training points, M = query points,
/// D = feature columns, P = parameters of the space.
enum GP {}
