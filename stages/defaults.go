package stages

// The values that a zero field of BatchConfig, ReadSpec, TrainConfig and
// EncodeJob stands for. The job file's defaults (jobs.Default) are these
// constants, so a job that sets nothing and a direct caller of stages that
// leaves the fields zero get the same values; jobs is where a user sees
// and changes them.
const (
	DefaultBatchSize         = 64   // BatchConfig.BatchSize
	DefaultReaders           = 2    // ReadSpec.Readers
	DefaultWorkers           = 2    // EncodeJob.Workers and TrainConfig.Workers
	DefaultEpochs            = 10   // TrainConfig.Epochs
	DefaultLR                = 1e-3 // TrainConfig.LR
	DefaultAnomalyPercentile = 99   // EncodeJob.AnomalyPercentile
)
