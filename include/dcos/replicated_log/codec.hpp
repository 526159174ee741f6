#pragma once
// Binary encodings of the replicated log: LevelDB record values (`Action`, `Metadata`) and the
// replica-to-replica wire messages (`Envelope`). Integers are LEB128 varints; strings are a
// varint length then the bytes. Every encoding starts with a version byte (currently 1).
// docs/design/replicated_log.md, "On-disk format" and "Wire format", spells out each field.

#include <optional>
#include <string>
#include <string_view>

#include "dcos/common/result.hpp"
#include "dcos/replicated_log/messages.hpp"
#include "dcos/replicated_log/types.hpp"

namespace dcos::replicated_log {

std::string encode(const Action& action);
Result<Action> decode_action(std::string_view bytes);

std::string encode(const Metadata& metadata);
Result<Metadata> decode_metadata(std::string_view bytes);

// Appends the encoding of `envelope` to `out` (so a batch can share one buffer).
void encode(const Envelope& envelope, std::string& out);
std::string encode(const Envelope& envelope);
Result<Envelope> decode_envelope(std::string_view bytes);

// LevelDB keys: actions sort by position ("a" + 8 bytes big-endian), metadata is "m".
std::string action_key(Position position);
std::string_view metadata_key();
// The position of an action key; nullopt for any other key.
std::optional<Position> position_of_key(std::string_view key);

}  // namespace dcos::replicated_log
