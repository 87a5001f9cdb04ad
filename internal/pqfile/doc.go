// Package pqfile writes the Parquet files of a record.Schema: a Batch holds
// rows column by column until they are sorted and encoded as a row group,
// and a FileWriter encodes them straight into pages (dictionaries, levels,
// page index, the spark types) with the codecs chosen by name. Batches are
// also filled back from Parquet rows, for the merge.
package pqfile
