package verify

import hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"

// tokenSchemes are the presets of this family by provider.
var tokenSchemes = map[hookgatev1.Provider]preset{}
