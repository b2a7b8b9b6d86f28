// Package jobs runs seqae as a batch job (docs/design.md §5): it reads job
// files, trains and/or encodes for a logical date, and commits the outputs
// so that readers never see a partial date.
//
// A job file (Config) is YAML read strictly: unknown keys, repeated keys
// and bad values are ConfigErrors naming the file, line and key. Load
// layers, highest first: flag settings, SEQAE_<KEY> environment
// variables, the file, Default.
//
// Run writes every output table (models, metrics, quarantine, step_losses,
// latents) under OUT/_staging/RUN_ID/, checks that sequences in = out +
// quarantined and that every table holds the rows counted for it, then
// commits each table's partition OUT/TABLE/dt=DATE/ with its
// _manifest.json (Manifest) and _SUCCESS, one table at a time under the
// table's commit lock (OUT/TABLE/_commit.lock):
//
//   - a whole date is swapped with the live partition in one step
//     (renameat2 RENAME_EXCHANGE on Linux; elsewhere rename-aside into the
//     run's staging folder, then rename, so the date is briefly absent but
//     never partial), and the previous partition deleted;
//   - a shard (Options.Shard, encoding only) renames its own part files
//     into the live partition, replacing only its own previous parts, and
//     the shard that completes the set writes the merged manifest and
//     _SUCCESS, provided every shard's Fingerprint (inputs, settings,
//     format, model) is the same;
//   - a table the run owns but no longer writes is removed (see Run).
//
// A run that fails or is cancelled before committing leaves every live
// partition as it was. Names starting with "_" or "." are skipped by table
// folder readers (Spark, pyarrow), which is why the staging folder, the
// locks, the markers and the manifests are named so.
//
// Inspect describes input tables, output tables, model files and
// partitions for the seqae inspect command.
package jobs
