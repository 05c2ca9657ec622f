package verify

import hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"

// hmacSchemes are the presets of this family by provider.
var hmacSchemes = map[hookgatev1.Provider]preset{}
