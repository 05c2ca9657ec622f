package verify

import hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"

// bodySchemes are the presets of this family by provider.
var bodySchemes = map[hookgatev1.Provider]preset{}
