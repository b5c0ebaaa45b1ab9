// KeyStore as a state section: keys created and deleted by committed commands, looked up by
// their secret, bounded at apply, carried by snapshots — and the secret itself never in a command
// or a snapshot, which is all the Raft log and the other members ever see.
#include "worker/cluster/key_store.h"

#include <gtest/gtest.h>

#include "tests/unit/cluster/heard.h"

#include "worker/cluster/cluster_state.h"

namespace cluster {
namespace {

// A key as a proposer makes it: its command, and the secret only the client gets.
struct Proposed {
  ApiKey key;
  std::string secret;
  std::string command;
};

Proposed Propose(std::string name, KeyRole role = KeyRole::kUser) {
  const KeyMaterial drawn = NewKeyMaterial();
  Proposed p{{drawn.id, std::move(name), role, "2024-05-01T12:00:00Z"}, drawn.secret, {}};
  p.command = EncodeCreateKey(p.key, HashKeySecret(p.secret));
  return p;
}

TEST(KeyStoreTest, KeyMaterialIsRandomUrlSafeAndRecognisable) {
  const KeyMaterial a = NewKeyMaterial(), b = NewKeyMaterial();
  EXPECT_NE(a.secret, b.secret);
  ASSERT_TRUE(a.secret.starts_with("stego_")) << a.secret;
  EXPECT_EQ(a.secret.size(), 6u + 43u) << "32 bytes in unpadded base64";
  EXPECT_EQ(a.secret.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 6),
            std::string::npos) << a.secret;
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(a.id.size(), 16u);
  EXPECT_EQ(a.secret.find(a.id), std::string::npos);
  EXPECT_EQ(HashKeySecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// A creation retried under the same Idempotency-Key must answer the key the first try created.
TEST(KeyStoreTest, KeyMaterialFromOneSeedIsTheSameAndFromAnotherDiffers) {
  const std::string seed(32, 'k');
  const KeyMaterial first = NewKeyMaterial(seed), again = NewKeyMaterial(seed);
  EXPECT_EQ(first.id, again.id);
  EXPECT_EQ(first.secret, again.secret);
  const KeyMaterial other = NewKeyMaterial(std::string(32, 'j'));
  EXPECT_NE(other.id, first.id);
  EXPECT_NE(other.secret, first.secret);
}

TEST(KeyStoreTest, NamesAreValidatedAndLengthLimited) {
  EXPECT_EQ(Heard(CheckKeyName("ci pipeline-2.prod_x")), "");
  EXPECT_NE(Heard(CheckKeyName("")), "");
  EXPECT_NE(Heard(CheckKeyName(std::string(65, 'a'))), "");
  EXPECT_EQ(Heard(CheckKeyName(std::string(64, 'a'))), "");
  EXPECT_NE(Heard(CheckKeyName("tab\there")), "");
  EXPECT_NE(Heard(CheckKeyName("<script>")), "");
}

TEST(KeyStoreTest, CreatedKeysAreFoundByTheirSecretAndDeletedKeysAreNot) {
  ClusterState state(nullptr);
  const KeyStore& keys = state.keys();
  EXPECT_TRUE(keys.empty());
  const Proposed user = Propose("ci"), admin = Propose("ops", KeyRole::kAdmin);
  const std::string heard1 = Heard(state.ApplyCommand(1, user.command));
  state.Apply(2, admin.command);
  EXPECT_EQ(heard1, "");
  EXPECT_FALSE(keys.empty());
  EXPECT_EQ(keys.RoleOf(user.secret), KeyRole::kUser);
  EXPECT_EQ(keys.RoleOf(admin.secret), KeyRole::kAdmin);
  EXPECT_EQ(keys.RoleOf(user.secret + "x"), std::nullopt);
  EXPECT_EQ(keys.RoleOf(HashKeySecret(user.secret)), std::nullopt) << "the hash is not a credential";
  EXPECT_EQ(keys.List(), (std::vector<ApiKey>{user.key, admin.key})) << "in creation order";
  EXPECT_EQ(keys.Find(user.key.id), user.key);

  const std::string heard3 = Heard(state.ApplyCommand(3, EncodeDeleteKey(user.key.id)));
  EXPECT_EQ(heard3, "");
  EXPECT_EQ(keys.RoleOf(user.secret), std::nullopt);
  EXPECT_FALSE(keys.Find(user.key.id).has_value());
  EXPECT_EQ(keys.List(), std::vector<ApiKey>{admin.key});

  const std::string heard4 = Heard(state.ApplyCommand(4, EncodeDeleteKey(user.key.id)));
  EXPECT_EQ(heard4, "no such API key");
  state.Apply(5, EncodeDeleteKey(admin.key.id));
  EXPECT_TRUE(keys.empty());
}

TEST(KeyStoreTest, ApplySkipsADuplicateNameAndMalformedCommands) {
  KeyStore keys;
  const Proposed first = Propose("ci");
  ASSERT_EQ(Heard(keys.Apply(1, *DecodeCommand(first.command))), "");
  const Proposed again = Propose("ci");
  EXPECT_NE(Heard(keys.Apply(2, *DecodeCommand(again.command))).find("named \"ci\""), std::string::npos);
  EXPECT_NE(Heard(keys.WhyNotAdd("ci")), "");
  EXPECT_EQ(Heard(keys.WhyNotAdd("cd")), "");

  const Proposed ok = Propose("cd");
  for (auto [field, value] : std::vector<std::pair<const char*, nlohmann::json>>{
           {"role", "root"}, {"hash", "not-a-hash"}, {"id", ""}, {"name", "bad/name"}, {"created_at", 7}}) {
    auto command = *DecodeCommand(ok.command);
    command.header[field] = value;
    EXPECT_NE(Heard(keys.Apply(3, command)), "") << field;
  }
  EXPECT_EQ(keys.List().size(), 1u);
  EXPECT_EQ(keys.RoleOf(again.secret), std::nullopt);
}

TEST(KeyStoreTest, TheLimitIsCheckedWhenApplied) {
  KeyStore keys;
  raft::Index index = 0;
  for (std::size_t i = 0; i < KeyStore::kMaxKeys; ++i) {
    ASSERT_EQ(Heard(keys.Apply(++index, *DecodeCommand(Propose("k" + std::to_string(i)).command))), "");
  }
  EXPECT_NE(Heard(keys.WhyNotAdd("one-more")), "");
  const Proposed over = Propose("one-more");
  EXPECT_NE(Heard(keys.Apply(++index, *DecodeCommand(over.command))).find("most API keys"), std::string::npos);
  EXPECT_EQ(keys.RoleOf(over.secret), std::nullopt);
  EXPECT_EQ(keys.List().size(), KeyStore::kMaxKeys);
}

TEST(KeyStoreTest, SnapshotCarriesTheKeysAndAnOlderSnapshotResetsThem) {
  ClusterState a(nullptr);
  const Proposed user = Propose("ci"), admin = Propose("ops", KeyRole::kAdmin), gone = Propose("old");
  a.Apply(1, gone.command);
  a.Apply(2, user.command);
  a.Apply(3, admin.command);
  a.Apply(4, EncodeDeleteKey(gone.key.id));

  ClusterState b(nullptr);
  b.Apply(1, Propose("only-on-b").command);
  ASSERT_TRUE(b.Restore(4, a.Snapshot()));
  EXPECT_EQ(b.keys().List(), a.keys().List());
  EXPECT_EQ(b.keys().RoleOf(user.secret), KeyRole::kUser);
  EXPECT_EQ(b.keys().RoleOf(admin.secret), KeyRole::kAdmin);
  EXPECT_EQ(b.keys().RoleOf(gone.secret), std::nullopt);
  EXPECT_EQ(b.Snapshot(), a.Snapshot());

  KeyStore c;
  ASSERT_TRUE(c.Apply(1, *DecodeCommand(user.command)));
  c.Restore("");  // a snapshot from before this section existed
  EXPECT_TRUE(c.empty());
}

TEST(KeyStoreTest, NeitherTheLogNorSnapshotsHoldTheSecret) {
  ClusterState state(nullptr);
  const Proposed p = Propose("ci");
  state.Apply(1, p.command);
  const std::string random_part = p.secret.substr(6);
  for (const std::string& text : {p.command, state.Snapshot()}) {
    EXPECT_EQ(text.find(random_part.substr(0, 12)), std::string::npos) << text;
    EXPECT_NE(text.find(HashKeySecret(p.secret)), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace cluster
