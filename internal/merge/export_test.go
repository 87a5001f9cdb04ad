package merge

// CountDecoded makes the merge of o add to *n the rows it reads from the
// parts (a run reads one row past its range's end).
func CountDecoded(o *Options, n *int64) { o.decoded = n }

// ColumnCost is what the merge budgets for one column of one run.
const ColumnCost = columnCost
