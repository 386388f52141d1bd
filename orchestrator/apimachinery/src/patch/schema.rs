//! How built-in types merge: the patch strategies and merge keys that upstream declares as struct tags.
//!
//! Source: `k8s.io/api` `core/v1/types.go`, `apps/v1/types.go`, `batch/v1/types.go` and
//! `apimachinery/pkg/apis/meta/v1/types.go` (`patchStrategy`/`patchMergeKey` for strategic merge patch,
//! `+listType`/`+listMapKey` for server-side apply), as of Kubernetes 1.33. Only the fields that are not
//! plain replace-lists are listed; every other list is atomic and every other object merges key by key.

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    /// The list is replaced as a whole (no patch strategy, `+listType=atomic`).
    Atomic,
    /// Objects merged by their key fields; the first key is the strategic merge patch merge key,
    /// all of them form the server-side apply list-map key.
    Keyed(&'static [&'static str]),
    /// Primitives merged as a set (`patchStrategy:"merge"` on a list of strings, `+listType=set`).
    Set,
}

/// What the schema knows about one field of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldSchema {
    /// The named type of the field's value (or of each list element), when it has interesting fields.
    pub ty: Option<&'static str>,
    /// How the field merges when it is a list.
    pub list: ListKind,
    /// `patchStrategy:"retainKeys"`: keys absent from a patch's `$retainKeys` are cleared.
    pub retain_keys: bool,
    /// A map of user keys (labels, data) rather than a struct: server-side apply owns the map itself.
    pub granular_map: bool,
    /// `+structType=atomic` / `+mapType=atomic`: server-side apply owns the value as a whole.
    pub atomic: bool,
}

const fn obj(ty: &'static str) -> FieldSchema {
    FieldSchema {
        ty: Some(ty),
        list: ListKind::Atomic,
        retain_keys: false,
        granular_map: false,
        atomic: false,
    }
}

const fn keyed(ty: Option<&'static str>, keys: &'static [&'static str]) -> FieldSchema {
    FieldSchema {
        ty,
        list: ListKind::Keyed(keys),
        retain_keys: false,
        granular_map: false,
        atomic: false,
    }
}

const SET: FieldSchema = FieldSchema {
    ty: None,
    list: ListKind::Set,
    retain_keys: false,
    granular_map: false,
    atomic: false,
};
const MAP: FieldSchema = FieldSchema {
    ty: None,
    list: ListKind::Atomic,
    retain_keys: false,
    granular_map: true,
    atomic: false,
};
/// A value owned as a whole by server-side apply (`+structType=atomic`, `+mapType=atomic`).
const ATOMIC: FieldSchema = FieldSchema {
    ty: None,
    list: ListKind::Atomic,
    retain_keys: false,
    granular_map: false,
    atomic: true,
};
const CONDITIONS: FieldSchema = keyed(None, &["type"]);

/// The schema of `field` inside a value of type `ty`; `None` for a field without special treatment.
pub(crate) fn field(ty: &str, field: &str) -> Option<FieldSchema> {
    let schema = match (ty, field) {
        (_, "metadata") if ty != "ObjectMeta" => obj("ObjectMeta"),
        ("ObjectMeta", "finalizers") => SET,
        ("ObjectMeta", "ownerReferences") => keyed(None, &["uid"]),
        ("ObjectMeta", "labels" | "annotations") => MAP,

        ("Pod", "spec") | ("PodTemplateSpec", "spec") => obj("PodSpec"),
        ("Pod", "status") => obj("PodStatus"),
        ("PodSpec", "containers" | "initContainers") => keyed(Some("Container"), &["name"]),
        ("PodSpec", "ephemeralContainers") => keyed(Some("Container"), &["name"]),
        ("PodSpec", "volumes") => FieldSchema {
            retain_keys: true,
            ..keyed(None, &["name"])
        },
        ("PodSpec", "imagePullSecrets" | "schedulingGates") => keyed(None, &["name"]),
        ("PodSpec", "resourceClaims") => FieldSchema {
            retain_keys: true,
            ..keyed(None, &["name"])
        },
        ("PodSpec", "hostAliases") => keyed(None, &["ip"]),
        ("PodSpec", "topologySpreadConstraints") => {
            keyed(None, &["topologyKey", "whenUnsatisfiable"])
        }
        ("PodSpec", "nodeSelector") => ATOMIC,
        ("Container", "ports") => keyed(None, &["containerPort", "protocol"]),
        ("Container", "env") => keyed(None, &["name"]),
        ("Container", "volumeMounts") => keyed(None, &["mountPath"]),
        ("Container", "volumeDevices") => keyed(None, &["devicePath"]),
        ("Container", "resources") => obj("ResourceRequirements"),
        ("ResourceRequirements", "limits" | "requests") => MAP,
        ("PodStatus", "conditions") => CONDITIONS,
        ("PodStatus", "podIPs" | "hostIPs") => keyed(None, &["ip"]),

        ("Service", "spec") => obj("ServiceSpec"),
        ("Service", "status") => obj("ConditionsStatus"),
        ("ServiceSpec", "ports") => keyed(None, &["port", "protocol"]),
        ("ServiceSpec", "selector") => ATOMIC,
        // metav1.LabelSelector is `+structType=atomic`.
        ("DeploymentSpec" | "WorkloadSpec" | "JobSpec", "selector") => ATOMIC,

        ("Deployment", "spec") => obj("DeploymentSpec"),
        ("DeploymentSpec", "strategy") => FieldSchema {
            retain_keys: true,
            ..obj("Strategy")
        },
        ("ReplicaSet", "spec") | ("DaemonSet", "spec") | ("StatefulSet", "spec") => {
            obj("WorkloadSpec")
        }
        ("DeploymentSpec" | "WorkloadSpec" | "JobSpec", "template") => obj("PodTemplateSpec"),
        ("Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" | "Job", "status") => {
            obj("ConditionsStatus")
        }
        ("Namespace" | "PersistentVolumeClaim" | "CustomResourceDefinition", "status") => {
            obj("ConditionsStatus")
        }
        ("ConditionsStatus", "conditions") => CONDITIONS,

        ("Job", "spec") => obj("JobSpec"),
        ("CronJob", "spec") => obj("CronJobSpec"),
        ("CronJobSpec", "jobTemplate") => obj("JobTemplateSpec"),
        ("JobTemplateSpec", "spec") => obj("JobSpec"),
        ("PodTemplate", "template") => obj("PodTemplateSpec"),

        ("Node", "spec") => obj("NodeSpec"),
        ("Node", "status") => obj("NodeStatus"),
        ("NodeSpec", "podCIDRs") => SET,
        ("NodeStatus", "conditions" | "addresses") => CONDITIONS,
        ("NodeStatus", "capacity" | "allocatable") => MAP,

        ("ServiceAccount", "secrets") => keyed(None, &["name"]),
        ("ConfigMap" | "Secret", "data" | "binaryData" | "stringData") => MAP,
        _ => return None,
    };
    Some(schema)
}

/// The schema type name of a built-in kind, used as the root of [`field`] look-ups.
pub(crate) fn root(kind: &str) -> &str {
    kind
}

/// API groups whose kinds are compiled into upstream's scheme and so accept strategic merge patches.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "discovery.k8s.io",
    "coordination.k8s.io",
    "rbac.authorization.k8s.io",
    "events.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "resource.k8s.io",
];

/// Whether objects of `group` accept `application/strategic-merge-patch+json`.
///
/// Upstream accepts strategic merge patches only for types compiled into its scheme; custom resources
/// are answered with 415 "strategic merge patch format is not supported".
pub fn supports_strategic_merge(group: &str) -> bool {
    BUILT_IN_GROUPS.contains(&group)
}
