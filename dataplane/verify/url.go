package verify

import hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"

// urlSchemes are the presets of this family by provider.
var urlSchemes = map[hookgatev1.Provider]preset{}
