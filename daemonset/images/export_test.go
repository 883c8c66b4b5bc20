package images

import "compress/gzip"

// Under -race, compress/flate is instrumented and the default level takes
// ~18 s for the agent's 40 MB, BestSpeed ~5 s; the level changes the bytes,
// not how the layer is made.
func init() { compressionLevel = gzip.BestSpeed }
