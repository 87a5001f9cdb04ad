package commit

import "testing"

// Every published file of either kind of run, its own or a late file it
// added to another day, is recognised as parquetrail's; nothing else is.
func TestFileRun(t *testing.T) {
	tests := []struct{ name, want string }{
		{"part-20261125T114500Z-3fa9c2-00000.parquet", "20261125T114500Z-3fa9c2"},
		{"part-20261125T114500Z-842523e47273-2-00003.parquet", "20261125T114500Z-842523e47273-2"},
		{"part-842523e47273-2-00000.parquet", "842523e47273-2"},
		// Files of range 0002 of a range-partitioned merge.
		{"part-20261125T114500Z-3fa9c2-0002-00000.parquet", "20261125T114500Z-3fa9c2"},
		{"part-842523e47273-2-0002-00001.parquet", "842523e47273-2"},
		{"part-20261125T114500Z-3fa9c2-002-00000.parquet", ""},
		{"late-20261124-part-20261125T114500Z-3fa9c2-00000.parquet", "20261125T114500Z-3fa9c2"},
		{"late-20261124-part-20261125T114500Z-842523e47273-2-00000.parquet", "20261125T114500Z-842523e47273-2"},
		{"part-0000.parquet", ""},
		{"part-00000-1b2c3d4e-c000.snappy.parquet", ""},
		{"late-20261124-part-0000.parquet", ""},
		{"sub/part-20261125T114500Z-3fa9c2-00000.parquet", ""},
		{"_SUCCESS", ""},
	}
	for _, tt := range tests {
		if got := fileRun(tt.name); got != tt.want {
			t.Errorf("fileRun(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
