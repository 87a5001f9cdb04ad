// Package scan turns the JSON of a CloudTrail log object into record.Rows:
// a Reader detects gzip, streams the object through a sliding window
// without building a JSON tree, checks it as strictly as encoding/json,
// parses eventTime and converts it to the day's zone, and names every
// malformed record or unreadable object as a problem.Problem. Its JSON
// lexer also splits objects for the Spark types' MAP columns (SplitObject).
package scan
