package merge

import "bytes"

// compareKeys compares the (eventtime, eventid) of the rows of r and o, a
// row without an eventid first among equal times.
func compareKeys(r, o *run) int {
	if r.time != o.time {
		if r.time < o.time {
			return -1
		}
		return 1
	}
	return compareIDs(r, o)
}

// compareIDs compares the eventids of the rows of r and o, a null one
// first. A nil id is null or empty: the row's value tells them apart, as
// Batch.Sort does.
func compareIDs(r, o *run) int {
	if r.id == nil || o.id == nil {
		rv, ov := !r.idNull(), !o.idNull()
		if rv != ov {
			if rv {
				return 1
			}
			return -1
		}
	}
	return bytes.Compare(r.id, o.id)
}

// idNull says whether the row's eventid is null.
func (r *run) idNull() bool { return r.null }
