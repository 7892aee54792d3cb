package intercept

import "github.com/flotilla-ipfs/flotilla/internal/car/cartest"

// The CAR builders are shared with internal/car and api/rest.
var (
	carV1     = cartest.V1
	carV2     = cartest.V2
	carUpload = cartest.Upload
)
