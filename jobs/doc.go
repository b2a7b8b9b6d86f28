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
// # Committing to an object store
//
// When output.dir is a location URL (s3://, gs://, azblob://, file://,
// mem://; see cloud.Resolver) there is no rename, and Run commits each
// table's partition P = OUT/TABLE/dt=DATE/ through the store instead. The
// outputs are staged in a local temporary folder, then, per table:
//
//  1. Lock: the run creates OUT/TABLE/_commit.lock.json with a conditional
//     write (If-None-Match: *), holding its run id, the date and an expiry
//     (seqae inspect reports a date whose lock is held as not consistent). Of runs
//     racing for it one wins; the others poll until it goes, or has
//     expired (its holder died), and fail naming the holder after
//     blobLockWait. The holder renews it before each upload and before
//     the manifest, and fails if it finds the lock taken over.
//  2. _SUCCESS is deleted.
//  3. The data files are uploaded under P with run-unique names
//     (part-00000-of-00001-RUNID.parquet, model-RUNID.safetensors), so
//     nothing an earlier run committed is overwritten. An upload that
//     fails leaves nothing under its name.
//  4. P/_manifest.json, listing exactly the live files, is written with
//     one PUT: the commit point. seqae's readers (inspect, warm start, the
//     newest model for encoding, shard completion) read the manifest and
//     only the files it lists.
//  5. Every other object that was under P when the lock was taken is
//     deleted: the previous run's files, and orphans (files of a run that
//     died between 3 and 4). All are seqae's: before it reads its input,
//     and again under the lock, a run fails, naming the object and
//     changing nothing, if P holds anything but _SUCCESS, _manifest.json,
//     _shards/part-I-of-N.json, files named with a run id as in 3, and the
//     temporary files of writes that died (NAME.HEX.tmp, fileblob's).
//  6. _SUCCESS is written, and the lock deleted.
//
// A run that dies before 4 leaves the previous manifest, and every file it
// lists, in place; one that dies after 4 leaves the new manifest whole.
// Either way the next commit to the table removes what no manifest lists.
// _SUCCESS present means the objects under P are exactly the manifest's
// files; a plain glob reader that ignores _SUCCESS can see, while a run
// commits, the new files beside the old ones (between 3 and 5), or orphans
// of a run that died (until the next run).
//
// A shard (i/n) uploads its files as in 3, then writes its own manifest
// P/_shards/part-i-of-n.json (its commit point); the merged manifest is
// withdrawn first unless it stays true (same shard count and
// fingerprint), and is written again, followed by _SUCCESS, when all n
// shard manifests are there with one fingerprint. Objects no current
// shard manifest lists go after that, as in 5. A table the run owns but
// does not write loses _SUCCESS, then its manifest, then its files.
//
// DateStatus, ReadManifest, ReadManifestFrom and ReadModel read back what
// a run committed; seqae inspect (internal/inspect) describes it with
// them.
package jobs
