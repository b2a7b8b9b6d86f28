// Package cloud is the storage.Store for object stores: Blob over one bucket
// of gocloud.dev/blob, and Resolver, which serves plain paths (through
// storage.Local) and location URLs (s3://, gs://, azblob://, file://,
// mem://), opening each bucket on first use. It imports the s3blob, gcsblob
// and azureblob drivers, and with them the cloud SDKs; that is why it is a
// package of its own: code that only reads and writes through storage.Store
// does not link them.
package cloud
