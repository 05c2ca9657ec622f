package verify

import hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"

// asymmetricSchemes are the presets of this family by provider.
var asymmetricSchemes = map[hookgatev1.Provider]preset{}
