package merge

// CountDecoded makes the merge of o add to *n the rows it decodes from the
// parts.
func CountDecoded(o *Options, n *int64) { o.decoded = n }

// ReadAhead is the rows a run reads at a time.
const ReadAhead = readAhead
