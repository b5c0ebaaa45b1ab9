// The pure builders: what each owned object must say, and that it is a function of the spec alone.
#include "operator/specs/specs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace stegocluster::specs {
namespace {

Cluster Demo(StegoClusterSpec spec = {}) { return {"demo", "ns1", "uid-1", std::move(spec)}; }

const Json& WorkerContainer(const Json& sts) { return sts["spec"]["template"]["spec"]["containers"][0]; }

bool HasArg(const Json& container, const std::string& arg) {
  const Json& args = container["args"];
  return std::find(args.begin(), args.end(), arg) != args.end();
}

// The literal value of the container's environment variable `name`, or "" when absent.
std::string EnvValue(const Json& container, const std::string& name) {
  for (const Json& e : container["env"]) {
    if (e["name"] == name) return e.value("value", "");
  }
  return "";
}

TEST(SpecsTest, PeerTlsMountsItsSecretAndPassesTheFilesOnlyWhenAskedFor) {
  const Json plain = WorkerContainer(StatefulSet(Demo()));
  EXPECT_FALSE(HasArg(plain, "--peer-tls-ca=/etc/stego/peer-tls/ca.crt"));
  EXPECT_EQ(plain["volumeMounts"].size(), 1u);

  StegoClusterSpec spec;
  spec.peer_tls = true;
  for (const char* type : {"EmptyDir", "PersistentVolumeClaim"}) {
    spec.storage.type = type;
    const Json sts = StatefulSet(Demo(spec));
    const Json& container = WorkerContainer(sts);
    EXPECT_TRUE(HasArg(container, "--peer-tls-cert=/etc/stego/peer-tls/tls.crt")) << type;
    EXPECT_TRUE(HasArg(container, "--peer-tls-key=/etc/stego/peer-tls/tls.key"));
    EXPECT_TRUE(HasArg(container, "--peer-tls-ca=/etc/stego/peer-tls/ca.crt"));
    EXPECT_EQ(container["volumeMounts"].back(),
              Json({{"name", "peer-tls"}, {"mountPath", "/etc/stego/peer-tls"}, {"readOnly", true}}));
    const Json& volume = sts["spec"]["template"]["spec"]["volumes"].back();
    EXPECT_EQ(volume["secret"]["secretName"], "demo-peer-tls") << type;
    EXPECT_EQ(volume["secret"]["defaultMode"], 0440);
  }
  const Json secret = PeerTlsSecret(Demo(spec), "CA", "CERT", "KEY");
  EXPECT_EQ(secret["type"], "kubernetes.io/tls");
  EXPECT_EQ(secret["data"]["tls.crt"], "Q0VSVA==");
  EXPECT_EQ(PeerCaSecret(Demo(spec), "CA", "CAKEY")["metadata"]["name"], "demo-peer-ca");
}

TEST(SpecsTest, EveryObjectIsOwnedByTheClusterAndLabelled) {
  const Cluster c = Demo();
  for (const Json& o : {ClientService(c), PeersService(c), LeaderService(c), StatefulSet(c),
                        AuthSecret(c, "s", "a"), PodDisruptionBudget(c), Ingress(c), NetworkPolicy(c)}) {
    const Json& meta = o["metadata"];
    EXPECT_EQ(meta["namespace"], "ns1") << o["kind"];
    ASSERT_EQ(meta["ownerReferences"].size(), 1u) << o["kind"];
    const Json& owner = meta["ownerReferences"][0];
    EXPECT_EQ(owner["kind"], "StegoCluster");
    EXPECT_EQ(owner["apiVersion"], "stegocluster.io/v1alpha1");
    EXPECT_EQ(owner["uid"], "uid-1");
    EXPECT_EQ(owner["controller"], true);
    EXPECT_EQ(meta["labels"][kClusterLabel], "demo") << o["kind"];
  }
}

TEST(SpecsTest, TheServicesSplitAllMembersReadyMembersAndTheLeader) {
  const Cluster c = Demo();
  const Json peers = PeersService(c), client = ClientService(c), leader = LeaderService(c);
  EXPECT_EQ(peers["metadata"]["name"], "demo-peers");
  EXPECT_EQ(peers["spec"]["clusterIP"], "None");
  EXPECT_EQ(peers["spec"]["publishNotReadyAddresses"], true) << "members find each other before they are ready";
  EXPECT_EQ(client["metadata"]["name"], "demo");
  EXPECT_FALSE(client["spec"].contains("publishNotReadyAddresses"));
  EXPECT_EQ(client["spec"]["selector"], Selector(c));
  EXPECT_EQ(leader["metadata"]["name"], "demo-leader");
  EXPECT_EQ(leader["spec"]["selector"][kRoleLabel], "leader");
  EXPECT_EQ(leader["spec"]["selector"][kClusterLabel], "demo");
  EXPECT_EQ(SelectorString(c), "stegocluster.io/cluster=demo");
}

TEST(SpecsTest, TheStatefulSetLetsTheOperatorChooseWhoRestarts) {
  const Json sts = StatefulSet(Demo());
  EXPECT_EQ(sts["spec"]["replicas"], 3);
  EXPECT_EQ(sts["spec"]["podManagementPolicy"], "Parallel");
  EXPECT_EQ(sts["spec"]["updateStrategy"]["type"], "OnDelete");
  EXPECT_EQ(sts["spec"]["serviceName"], "demo-peers");
  EXPECT_EQ(sts["spec"]["selector"]["matchLabels"], Selector(Demo()));
}

TEST(SpecsTest, TheWorkerRunsLockedDownWithItsSecretsFromTheEnvironment) {
  const Json sts = StatefulSet(Demo());
  const Json& pod = sts["spec"]["template"]["spec"];
  const Json& w = WorkerContainer(sts);
  EXPECT_EQ(pod["automountServiceAccountToken"], false) << "workers never talk to Kubernetes";
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(w["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(w["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_EQ(w["readinessProbe"]["httpGet"]["path"], "/readyz");
  EXPECT_EQ(w["livenessProbe"]["httpGet"]["path"], "/healthz");
  EXPECT_TRUE(HasArg(w, "--peers-dns=demo-peers.ns1.svc:7000"));
  EXPECT_EQ(EnvValue(w, "STEGO_HTTP"), "$(POD_IP):8081") << "in the environment, which the preStop hook shares";
  EXPECT_EQ(EnvValue(w, "STEGO_DRAIN_MS"), "5000") << "a quarter of the 30 s grace period, at most 5 s";
  EXPECT_EQ(w["lifecycle"]["preStop"]["exec"]["command"], Json::array({"/usr/local/bin/stego-worker", "--pre-stop"}));
  EXPECT_TRUE(HasArg(w, "--peer=$(POD_IP):7000"));
  EXPECT_TRUE(HasArg(w, "--advertise=$(POD_NAME).demo-peers.ns1.svc")) << "a stable name, never the pod IP";
  EXPECT_TRUE(HasArg(w, "--raft-heartbeat-ms=50"));
  EXPECT_TRUE(HasArg(w, "--raft-election-timeout-ms=150"));
  EXPECT_TRUE(HasArg(w, "--node-id=$(POD_NAME)"));
  const std::string argv = w["args"].dump();
  EXPECT_EQ(argv.find("secret"), std::string::npos) << "no secret in argv: " << argv;
  EXPECT_EQ(argv.find("admin"), std::string::npos) << argv;
  int from_secret = 0;
  for (const Json& e : w["env"]) {
    if (e.contains("valueFrom") && e["valueFrom"].contains("secretKeyRef")) {
      EXPECT_EQ(e["valueFrom"]["secretKeyRef"]["name"], "demo-auth");
      ++from_secret;
    }
  }
  EXPECT_EQ(from_secret, 2) << "STEGO_CLUSTER_SECRET and STEGO_ADMIN_KEY";
}

TEST(SpecsTest, TheSpecReachesThePods) {
  StegoClusterSpec s;
  s.replicas = 5;
  s.image = "registry.example/stego-worker:1.2";
  s.worker.max_pixels = 1000;
  s.worker.log_format = "text";
  s.pod.labels = {{"team", "a"}};
  s.pod.node_selector = {{"disk", "ssd"}};
  s.pod.priority_class_name = "high";
  s.pod.env = Json::array({{{"name", "EXTRA"}, {"value", "1"}}});
  s.pod.termination_grace_period_seconds = 8;
  s.resources = Json{{"limits", {{"memory", "1Gi"}}}};
  s.auth_secret_name = "mine";
  const Json sts = StatefulSet(Demo(s));
  const Json& pod = sts["spec"]["template"]["spec"];
  const Json& w = WorkerContainer(sts);
  EXPECT_EQ(sts["spec"]["replicas"], 5);
  EXPECT_EQ(w["image"], "registry.example/stego-worker:1.2");
  EXPECT_TRUE(HasArg(w, "--max-pixels=1000"));
  EXPECT_TRUE(HasArg(w, "--log-format=text"));
  EXPECT_EQ(sts["spec"]["template"]["metadata"]["labels"]["team"], "a");
  EXPECT_EQ(pod["nodeSelector"]["disk"], "ssd");
  EXPECT_EQ(pod["priorityClassName"], "high");
  EXPECT_EQ(pod["terminationGracePeriodSeconds"], 8);
  EXPECT_EQ(EnvValue(w, "STEGO_DRAIN_MS"), "2000") << "a short grace period gets a quarter of it";
  EXPECT_EQ(w["resources"]["limits"]["memory"], "1Gi");
  EXPECT_EQ(w["env"].back()["name"], "EXTRA");
  EXPECT_EQ(w["env"][4]["valueFrom"]["secretKeyRef"]["name"], "mine") << "the user's Secret";
}

// Client limits and trusted proxies appear only when the spec changes them from the defaults, so
// a cluster that sets none keeps its pod template (and its workers) across an operator upgrade.
TEST(SpecsTest, ClientLimitsAndTrustedProxiesArePassedOnlyWhenSet) {
  const Json plain = WorkerContainer(StatefulSet(Demo()));
  for (const Json& arg : plain["args"]) {
    EXPECT_FALSE(arg.get<std::string>().starts_with("--client-")) << arg;
    EXPECT_FALSE(arg.get<std::string>().starts_with("--trusted-proxies")) << arg;
  }
  StegoClusterSpec s;
  s.worker.client_limits.requests_per_second = 20;
  s.worker.client_limits.connections = 0;
  s.worker.trusted_proxies = {"10.42.0.0/16", "fd00::/8"};
  const Json sts = StatefulSet(Demo(s));
  const Json& w = WorkerContainer(sts);
  EXPECT_TRUE(HasArg(w, "--client-rate=20"));
  EXPECT_TRUE(HasArg(w, "--client-connections=0")) << "0 (no limit) differs from the default 128";
  EXPECT_FALSE(HasArg(w, "--client-concurrency=64")) << "left at its default";
  EXPECT_TRUE(HasArg(w, "--trusted-proxies=10.42.0.0/16,fd00::/8"));
}

TEST(SpecsTest, StorageIsAnEmptyDirOrOneClaimPerMember) {
  const Json empty_dir = StatefulSet(Demo());
  EXPECT_EQ(empty_dir["spec"]["template"]["spec"]["volumes"][0]["emptyDir"]["sizeLimit"], "1Gi");
  EXPECT_FALSE(empty_dir["spec"].contains("volumeClaimTemplates"));
  StegoClusterSpec s;
  s.storage = {"PersistentVolumeClaim", "5Gi", "fast"};
  const Json claims = StatefulSet(Demo(s));
  EXPECT_FALSE(claims["spec"]["template"]["spec"].contains("volumes"));
  const Json& claim = claims["spec"]["volumeClaimTemplates"][0];
  EXPECT_EQ(claim["metadata"]["name"], "data");
  EXPECT_EQ(claim["spec"]["resources"]["requests"]["storage"], "5Gi");
  EXPECT_EQ(claim["spec"]["storageClassName"], "fast");
  EXPECT_EQ(WorkerContainer(claims)["volumeMounts"][0]["name"], "data");
  EXPECT_EQ(claims["spec"]["persistentVolumeClaimRetentionPolicy"],
            (Json{{"whenDeleted", "Delete"}, {"whenScaled", "Delete"}}));
  EXPECT_EQ(StatefulSet(Demo(s), 4)["spec"]["replicas"], 4) << "scaling sets the size it has reached";
}

TEST(SpecsTest, TheDisruptionBudgetKeepsAQuorum) {
  for (const auto& [replicas, may_go] : {std::pair{1, 0}, {2, 0}, {3, 1}, {4, 1}, {5, 2}, {9, 4}}) {
    StegoClusterSpec s;
    s.replicas = replicas;
    EXPECT_EQ(PodDisruptionBudget(Demo(s))["spec"]["maxUnavailable"], may_go) << replicas;
    EXPECT_EQ(replicas - may_go, Quorum(replicas));
  }
}

TEST(SpecsTest, TheIngressRoutesToTheLeaderService) {
  StegoClusterSpec s;
  s.ingress = {.enabled = true, .class_name = "traefik", .host = "stego.example", .path = "/api",
               .tls_secret_name = "tls", .annotations = {{"a", "b"}}};
  const Json ing = Ingress(Demo(s));
  EXPECT_EQ(ing["spec"]["ingressClassName"], "traefik");
  const Json& rule = ing["spec"]["rules"][0];
  EXPECT_EQ(rule["host"], "stego.example");
  EXPECT_EQ(rule["http"]["paths"][0]["path"], "/api");
  EXPECT_EQ(rule["http"]["paths"][0]["backend"]["service"]["name"], "demo-leader");
  EXPECT_EQ(ing["spec"]["tls"][0]["secretName"], "tls");
  EXPECT_EQ(ing["metadata"]["annotations"]["a"], "b");
}

TEST(SpecsTest, OnlyTheClustersOwnPodsReachThePeerPort) {
  const Json np = NetworkPolicy(Demo());
  const Json& rules = np["spec"]["ingress"];
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_FALSE(rules[0].contains("from")) << "the API is open";
  EXPECT_EQ(rules[0]["ports"][0]["port"], kHttpPort);
  EXPECT_EQ(rules[1]["from"][0]["podSelector"]["matchLabels"], Selector(Demo()));
  EXPECT_EQ(rules[1]["ports"][0]["port"], kPeerPort);
}

TEST(SpecsTest, TheObjectsAreAFunctionOfTheSpecAlone) {
  EXPECT_EQ(StatefulSet(Demo()), StatefulSet(Demo())) << "same spec, same template: no restart";
  StegoClusterSpec scaled;
  scaled.replicas = 5;
  EXPECT_EQ(StatefulSet(Demo())["spec"]["template"], StatefulSet(Demo(scaled))["spec"]["template"])
      << "scaling does not change the pod template";
  StegoClusterSpec paused;
  paused.paused = true;
  EXPECT_EQ(StatefulSet(Demo()), StatefulSet(Demo(paused)));
}

}  // namespace
}  // namespace stegocluster::specs
