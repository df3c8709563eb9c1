package deploy

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The parts of Kubernetes objects the manifests are checked on; the rest of
// each document is ignored (the API server's own validation is not run
// here: no cluster in CI).
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec       k8sSpec           `yaml:"spec"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`

	file string
}

type k8sSpec struct {
	// Deployment, Job
	Replicas *int         `yaml:"replicas"`
	Selector *k8sSelector `yaml:"selector"`
	Template *k8sTemplate `yaml:"template"`
	// CronJob
	JobTemplate *struct {
		Spec k8sSpec `yaml:"spec"`
	} `yaml:"jobTemplate"`
	ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
	// Service
	Ports []struct {
		Name       string `yaml:"name"`
		Port       int    `yaml:"port"`
		TargetPort any    `yaml:"targetPort"`
	} `yaml:"ports"`
	// PodDisruptionBudget
	MinAvailable any `yaml:"minAvailable"`
}

type k8sTemplate struct {
	Metadata struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec k8sPodSpec `yaml:"spec"`
}

// pod is the pod template of a Deployment, a Job or a CronJob's jobs; nil
// for other kinds.
func (o *k8sObject) pod() *k8sTemplate {
	if o.Spec.JobTemplate != nil {
		return o.Spec.JobTemplate.Spec.Template
	}
	return o.Spec.Template
}

// k8sSelector is a Deployment's or PDB's selector, or — with no
// matchLabels key — a Service's plain map; see labels.
type k8sSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
	Plain       map[string]string `yaml:",inline"`
}

func (s *k8sSelector) labels() map[string]string {
	if s == nil {
		return nil
	}
	if s.MatchLabels != nil {
		return s.MatchLabels
	}
	return s.Plain
}

type k8sPodSpec struct {
	RestartPolicy   string         `yaml:"restartPolicy"`
	SecurityContext k8sSecurity    `yaml:"securityContext"`
	Containers      []k8sContainer `yaml:"containers"`
	InitContainers  []k8sContainer `yaml:"initContainers"`
	Volumes         []struct {
		Name                  string `yaml:"name"`
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
	} `yaml:"volumes"`
}

type k8sSecurity struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	RunAsUser                *int  `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env     []k8sEnvVar `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
		SecretRef    *struct{ Name string } `yaml:"secretRef"`
	} `yaml:"envFrom"`
	StartupProbe   *k8sProbe `yaml:"startupProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext k8sSecurity      `yaml:"securityContext"`
	VolumeMounts    []k8sVolumeMount `yaml:"volumeMounts"`
}

type k8sEnvVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef    *k8sKeyRef `yaml:"secretKeyRef"`
		ConfigMapKeyRef *k8sKeyRef `yaml:"configMapKeyRef"`
	} `yaml:"valueFrom"`
}

type k8sVolumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

type k8sKeyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional bool   `yaml:"optional"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

// loadManifests reads every document of every YAML file in
// deploy/kubernetes/.
func loadManifests(t *testing.T) []*k8sObject {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes/ (%v)", err)
	}
	var objs []*k8sObject
	for _, f := range files {
		for i, doc := range decodeAll(t, f) {
			o := &k8sObject{file: fmt.Sprintf("deploy/%s (document %d)", f, i+1)}
			if err := doc.Decode(o); err != nil {
				t.Fatalf("%s: %v", o.file, err)
			}
			objs = append(objs, o)
		}
	}
	return objs
}

func find(objs []*k8sObject, kind string) []*k8sObject {
	var out []*k8sObject
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func one(t *testing.T, objs []*k8sObject, kind string) *k8sObject {
	t.Helper()
	found := find(objs, kind)
	if len(found) != 1 {
		t.Fatalf("deploy/kubernetes: %d objects of kind %s; want 1", len(found), kind)
	}
	return found[0]
}

// selects says whether every label of the selector is on the labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetes(t *testing.T) {
	objs := loadManifests(t)

	t.Run("documents", func(t *testing.T) {
		for _, o := range objs {
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				t.Errorf("%s: want apiVersion, kind and metadata.name (got %q, %q, %q)", o.file, o.APIVersion, o.Kind, o.Metadata.Name)
			}
			if o.Metadata.Namespace != "" {
				t.Errorf("%s: names namespace %q; the manifests are namespace-agnostic (kubectl -n)", o.file, o.Metadata.Namespace)
			}
		}
		for _, kind := range []string{"Deployment", "Service", "Job", "ConfigMap", "Secret", "PodDisruptionBudget", "CronJob", "PersistentVolumeClaim"} {
			if len(find(objs, kind)) == 0 {
				t.Errorf("deploy/kubernetes: no %s", kind)
			}
		}
	})

	dep := one(t, objs, "Deployment")
	if dep.Spec.Template == nil || len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%s: want a pod template with one container", dep.file)
	}
	podLabels := dep.Spec.Template.Metadata.Labels
	app := dep.Spec.Template.Spec.Containers[0]
	job := one(t, objs, "Job")
	if job.Spec.Template == nil || len(job.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%s: want a pod template with one container", job.file)
	}
	migrate := job.Spec.Template.Spec.Containers[0]

	t.Run("deployment", func(t *testing.T) {
		if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
			t.Errorf("%s: replicas %v; want 2", dep.file, dep.Spec.Replicas)
		}
		if !selects(dep.Spec.Selector.labels(), podLabels) {
			t.Errorf("%s: selector %v does not select the pod template's labels %v", dep.file, dep.Spec.Selector.labels(), podLabels)
		}
		checkArgs(t, dep.file, app.Args)
		if len(app.Args) == 0 || app.Args[0] != "serve" || !(slices.Contains(app.Args, "--migrate=false") || envValue(app, "SECONDMENT_MIGRATE") == "false") {
			t.Errorf("%s: args %q; want serve --migrate=false (the Job migrates)", dep.file, app.Args)
		}
		http := portNamed(t, app, "http")
		for _, p := range []struct {
			name  string
			probe *k8sProbe
			path  string
		}{
			{"readinessProbe", app.ReadinessProbe, "/readyz"},
			{"livenessProbe", app.LivenessProbe, "/healthz"},
			{"startupProbe", app.StartupProbe, ""},
		} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Errorf("%s: no %s with httpGet", dep.file, p.name)
				continue
			}
			if p.path != "" && p.probe.HTTPGet.Path != p.path {
				t.Errorf("%s: %s path %q; want %s", dep.file, p.name, p.probe.HTTPGet.Path, p.path)
			}
			if port := resolvePort(app, p.probe.HTTPGet.Port); port != http {
				t.Errorf("%s: %s port %v is not the container's http port %d", dep.file, p.name, p.probe.HTTPGet.Port, http)
			}
		}
		if addr := configMapValue(objs, app, "SECONDMENT_ADDR"); !strings.HasSuffix(addr, ":"+strconv.Itoa(http)) {
			t.Errorf("%s: SECONDMENT_ADDR %q does not listen on the container port %d", dep.file, addr, http)
		}
		if mode := configMapValue(objs, app, "SECONDMENT_MODE"); mode != "production" {
			t.Errorf("%s: SECONDMENT_MODE %q; want production", dep.file, mode)
		}
		if metrics := configMapValue(objs, app, "SECONDMENT_METRICS_ADDR"); metrics == "" {
			t.Errorf("%s: no SECONDMENT_METRICS_ADDR", dep.file)
		} else if port := portNamed(t, app, "metrics"); !strings.HasSuffix(metrics, ":"+strconv.Itoa(port)) {
			t.Errorf("%s: SECONDMENT_METRICS_ADDR %q is not the container's metrics port %d", dep.file, metrics, port)
		}
		if configMapValue(objs, app, "SECONDMENT_TRUSTED_PROXIES") == "" {
			t.Errorf("%s: no SECONDMENT_TRUSTED_PROXIES: behind an ingress every client would have its address", dep.file)
		}
		// The whole environment as the pod gets it, read by the binary's
		// own flag set.
		cfg := serveConfig(t, dep.file, containerEnv(t, objs, app), app.Args)
		checkListeners(t, dep.file, cfg)
		if cfg.OIDC.Enabled() {
			t.Errorf("%s: single sign-on is on, with placeholder settings; leave it commented out", dep.file)
		}
		// The commented single sign-on example, switched on, is accepted
		// as it stands, in production mode (https issuer and callback,
		// the client secret from the Secret).
		cfg = serveConfig(t, dep.file+" with the ConfigMap's and Secret's commented examples", containerEnv(t, withExamples(t, objs), app), app.Args)
		if !cfg.OIDC.Enabled() {
			t.Errorf("%s: the ConfigMap has no commented single sign-on example, or the pods do not get it", dep.file)
		}
		if hasEnv(app, "SECONDMENT_DATABASE_OWNER_URL") {
			t.Errorf("%s: the pods get the schema owner's URL; only the migration Job should", dep.file)
		}
		if !hasEnv(app, "SECONDMENT_DATABASE_URL") {
			t.Errorf("%s: no SECONDMENT_DATABASE_URL", dep.file)
		}
		checkResources(t, dep.file, app)
		checkSecurity(t, dep.file, dep.Spec.Template.Spec, app, dockerfileUID(t))
		if !slices.ContainsFunc(app.VolumeMounts, func(m k8sVolumeMount) bool { return m.MountPath == "/tmp" }) {
			t.Errorf("%s: no volume on /tmp, and the root file system is read-only (uploads spill to /tmp)", dep.file)
		}
	})

	t.Run("service", func(t *testing.T) {
		for _, svc := range find(objs, "Service") {
			sel := svc.Spec.Selector.labels()
			if !selects(sel, podLabels) {
				t.Errorf("%s: selector %v does not select the Deployment's pods %v", svc.file, sel, podLabels)
			}
			for _, o := range otherPods(objs, dep) {
				if selects(sel, o.pod().Metadata.Labels) {
					t.Errorf("%s: selector %v also selects the pods of %s", svc.file, sel, o.file)
				}
			}
			if len(svc.Spec.Ports) == 0 {
				t.Errorf("%s: no ports", svc.file)
			}
			for _, p := range svc.Spec.Ports {
				if resolvePort(app, p.TargetPort) == 0 {
					t.Errorf("%s: targetPort %v is not a port of the container", svc.file, p.TargetPort)
				}
			}
		}
	})

	t.Run("job", func(t *testing.T) {
		args := slices.Concat(migrate.Command, migrate.Args)
		if !slices.Equal(args, []string{"migrate", "up"}) {
			t.Errorf("%s: runs %q; want migrate up", job.file, args)
		}
		checkArgs(t, job.file, args)
		if migrate.Image != app.Image {
			t.Errorf("%s: image %q; want the Deployment's %q", job.file, migrate.Image, app.Image)
		}
		if rp := job.Spec.Template.Spec.RestartPolicy; rp != "Never" && rp != "OnFailure" {
			t.Errorf("%s: restartPolicy %q; a Job's pod needs Never or OnFailure", job.file, rp)
		}
		if !hasEnv(migrate, "SECONDMENT_DATABASE_OWNER_URL") || !hasEnv(migrate, "SECONDMENT_DATABASE_URL") {
			t.Errorf("%s: want SECONDMENT_DATABASE_OWNER_URL (it migrates as the owner) and SECONDMENT_DATABASE_URL (the role it grants to)", job.file)
		}
		if a, b := secretRef(migrate, "SECONDMENT_DATABASE_URL"), secretRef(app, "SECONDMENT_DATABASE_URL"); a != b {
			t.Errorf("%s: grants to the login of %s, but the Deployment serves as %s", job.file, a, b)
		}
		checkResources(t, job.file, migrate)
		checkSecurity(t, job.file, job.Spec.Template.Spec, migrate, dockerfileUID(t))
	})

	t.Run("backup", func(t *testing.T) {
		cron := one(t, objs, "CronJob")
		pod := cron.pod()
		if pod == nil || len(pod.Spec.Containers) != 1 {
			t.Fatalf("%s: want a job template with one container", cron.file)
		}
		c := pod.Spec.Containers[0]
		// The tools image of the Deployment's release: the same tag.
		repo, tag, _ := strings.Cut(c.Image, ":")
		appRepo, appTag, _ := strings.Cut(app.Image, ":")
		if tag != appTag || repo != appRepo+"-tools" {
			t.Errorf("%s: image %q; want %s-tools:%s, the tools image (deploy/Dockerfile --target tools) of the Deployment's release", cron.file, c.Image, appRepo, appTag)
		}
		if cron.Spec.ConcurrencyPolicy != "Forbid" {
			t.Errorf("%s: concurrencyPolicy %q; want Forbid, one dump at a time", cron.file, cron.Spec.ConcurrencyPolicy)
		}
		if rp := pod.Spec.RestartPolicy; rp != "Never" && rp != "OnFailure" {
			t.Errorf("%s: restartPolicy %q; a Job's pod needs Never or OnFailure", cron.file, rp)
		}
		// The commands it runs: secondment's lines of the shell script.
		var out string
		for _, line := range strings.Split(strings.Join(slices.Concat(c.Command, c.Args), "\n"), "\n") {
			f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "if ! "))
			if len(f) < 2 || f[0] != "secondment" {
				continue
			}
			checkArgs(t, cron.file, f[1:])
			if f[1] == "backup" {
				if i := slices.Index(f, "--out"); i > 0 && i+1 < len(f) {
					out = f[i+1]
				}
			}
		}
		if out == "" {
			t.Fatalf("%s: runs no secondment backup --out FILE", cron.file)
		}
		// --out is a shell variable there: the directory is where the
		// script puts it.
		dir := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(strings.Trim(out, `"${}`)) + `=(/[^\s$]*)/`).FindStringSubmatch(strings.Join(slices.Concat(c.Command, c.Args), "\n"))
		if dir == nil {
			t.Fatalf("%s: cannot tell where --out %s writes", cron.file, out)
		}
		mount := ""
		for _, m := range c.VolumeMounts {
			if m.MountPath == dir[1] {
				mount = m.Name
			}
		}
		claim := ""
		for _, v := range pod.Spec.Volumes {
			if v.Name == mount && v.PersistentVolumeClaim != nil {
				claim = v.PersistentVolumeClaim.ClaimName
			}
		}
		if claim == "" {
			t.Errorf("%s: %s is not a volume mount of a PersistentVolumeClaim: the backups would vanish with the pod", cron.file, dir[1])
		} else if named(objs, "PersistentVolumeClaim", claim) == nil {
			t.Errorf("%s: claim %q is not in deploy/kubernetes", cron.file, claim)
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(m k8sVolumeMount) bool { return m.MountPath == "/tmp" }) {
			t.Errorf("%s: no volume on /tmp, and the root file system is read-only", cron.file)
		}
		// As the owner, like the migration, and with the Deployment's
		// URL, without which secondment would run an embedded cluster.
		if a, b := secretRef(c, "SECONDMENT_DATABASE_OWNER_URL"), secretRef(migrate, "SECONDMENT_DATABASE_OWNER_URL"); a != b {
			t.Errorf("%s: SECONDMENT_DATABASE_OWNER_URL from %s; want the migration Job's %s", cron.file, a, b)
		}
		if a, b := secretRef(c, "SECONDMENT_DATABASE_URL"), secretRef(app, "SECONDMENT_DATABASE_URL"); a != b {
			t.Errorf("%s: SECONDMENT_DATABASE_URL from %s; want the Deployment's %s", cron.file, a, b)
		}
		checkResources(t, cron.file, c)
		checkSecurity(t, cron.file, pod.Spec, c, dockerfileStage(t, "tools").uid())
	})

	t.Run("pdb", func(t *testing.T) {
		pdb := one(t, objs, "PodDisruptionBudget")
		if !maps.Equal(pdb.Spec.Selector.labels(), dep.Spec.Selector.labels()) {
			t.Errorf("%s: selector %v; want the Deployment's %v", pdb.file, pdb.Spec.Selector.labels(), dep.Spec.Selector.labels())
		}
		for _, o := range otherPods(objs, dep) {
			if selects(pdb.Spec.Selector.labels(), o.pod().Metadata.Labels) {
				t.Errorf("%s: selector also selects the pods of %s", pdb.file, o.file)
			}
		}
		if fmt.Sprint(pdb.Spec.MinAvailable) != "1" {
			t.Errorf("%s: minAvailable %v; want 1", pdb.file, pdb.Spec.MinAvailable)
		}
	})

	t.Run("references", func(t *testing.T) {
		for _, o := range objs {
			if o.pod() == nil {
				continue
			}
			pod := o.pod().Spec
			for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
				where := o.file + " container " + c.Name
				for _, e := range c.Env {
					checkSetting(t, where, e.Name)
					if e.ValueFrom == nil {
						continue
					}
					if r := e.ValueFrom.SecretKeyRef; r != nil {
						checkKey(t, objs, where, "Secret", r)
					}
					if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
						checkKey(t, objs, where, "ConfigMap", r)
					}
				}
				for _, ef := range c.EnvFrom {
					kind, name := "ConfigMap", ""
					if ef.ConfigMapRef != nil {
						name = ef.ConfigMapRef.Name
					} else if ef.SecretRef != nil {
						kind, name = "Secret", ef.SecretRef.Name
					}
					src := named(objs, kind, name)
					if src == nil {
						t.Errorf("%s: envFrom names %s %q, which is not in deploy/kubernetes", where, kind, name)
						continue
					}
					for _, k := range sortedKeys(src.keys()) {
						checkSetting(t, src.file, k)
					}
				}
			}
		}
	})

	t.Run("placeholders", func(t *testing.T) {
		for _, s := range find(objs, "Secret") {
			for k, v := range s.keys() {
				if !strings.Contains(v, "CHANGE-ME") {
					t.Errorf("%s: %s holds a value that is not marked CHANGE-ME; the repository holds no real secret", s.file, k)
				}
			}
		}
	})
}

func (o *k8sObject) keys() map[string]string {
	m := map[string]string{}
	for k, v := range o.Data {
		m[k] = v
	}
	for k, v := range o.StringData {
		m[k] = v
	}
	return m
}

// otherPods are the objects with a pod template other than dep's.
func otherPods(objs []*k8sObject, dep *k8sObject) []*k8sObject {
	var out []*k8sObject
	for _, o := range objs {
		if o != dep && o.pod() != nil {
			out = append(out, o)
		}
	}
	return out
}

func named(objs []*k8sObject, kind, name string) *k8sObject {
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	return nil
}

// checkKey checks that a secretKeyRef or configMapKeyRef names an object
// of the manifests and one of its keys.
func checkKey(t *testing.T, objs []*k8sObject, where, kind string, r *k8sKeyRef) {
	t.Helper()
	o := named(objs, kind, r.Name)
	if o == nil {
		t.Errorf("%s: refers to %s %q, which is not in deploy/kubernetes", where, kind, r.Name)
		return
	}
	if _, ok := o.keys()[r.Key]; !ok && !r.Optional {
		t.Errorf("%s: refers to key %q of %s %q, which has %v", where, r.Key, kind, r.Name, sortedKeys(o.keys()))
	}
}

func hasEnv(c k8sContainer, name string) bool {
	return slices.ContainsFunc(c.Env, func(e k8sEnvVar) bool { return e.Name == name })
}

func envValue(c k8sContainer, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// secretRef names where a variable comes from: "Secret/key".
func secretRef(c k8sContainer, name string) string {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	return "(no secret)"
}

// containerEnv is the environment a container gets: the ConfigMaps and
// Secrets it takes whole, then its env entries, literal or from a key (an
// optional key that is missing sets nothing, as in Kubernetes).
func containerEnv(t *testing.T, objs []*k8sObject, c k8sContainer) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		var src *k8sObject
		if ef.ConfigMapRef != nil {
			src = named(objs, "ConfigMap", ef.ConfigMapRef.Name)
		} else if ef.SecretRef != nil {
			src = named(objs, "Secret", ef.SecretRef.Name)
		}
		if src != nil {
			maps.Copy(env, src.keys())
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			if o := named(objs, "Secret", e.ValueFrom.SecretKeyRef.Name); o != nil {
				if v, ok := o.keys()[e.ValueFrom.SecretKeyRef.Key]; ok {
					env[e.Name] = v
				}
			}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			if o := named(objs, "ConfigMap", e.ValueFrom.ConfigMapKeyRef.Name); o != nil {
				if v, ok := o.keys()[e.ValueFrom.ConfigMapKeyRef.Key]; ok {
					env[e.Name] = v
				}
			}
		}
	}
	return env
}

// withExamples is a copy of the manifests with the commented examples of
// the ConfigMaps (SECONDMENT_… settings) and the Secrets (keys some
// secretKeyRef names) switched on.
func withExamples(t *testing.T, objs []*k8sObject) []*k8sObject {
	t.Helper()
	refs := map[string]bool{}
	for _, o := range objs {
		if o.pod() == nil {
			continue
		}
		for _, c := range o.pod().Spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					refs[e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key] = true
				}
			}
		}
	}
	commented := regexp.MustCompile(`^\s+#\s*([A-Za-z0-9_.-]+:\s.*)$`)
	var out []*k8sObject
	for _, o := range objs {
		if o.Kind != "ConfigMap" && o.Kind != "Secret" {
			out = append(out, o)
			continue
		}
		c := *o
		c.Data, c.StringData = maps.Clone(o.Data), maps.Clone(o.StringData)
		if c.Data == nil {
			c.Data = map[string]string{}
		}
		file, _, _ := strings.Cut(strings.TrimPrefix(o.file, "deploy/"), " ")
		for _, line := range strings.Split(readFile(t, "deploy/"+file), "\n") {
			m := commented.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			var kv map[string]string
			if err := yaml.Unmarshal([]byte(m[1]), &kv); err != nil {
				continue // prose with a colon
			}
			for k, v := range kv {
				if (o.Kind == "ConfigMap" && strings.HasPrefix(k, "SECONDMENT_")) || (o.Kind == "Secret" && refs[o.Metadata.Name+"/"+k]) {
					c.Data[k] = v
				}
			}
		}
		out = append(out, &c)
	}
	return out
}

// configMapValue is a variable's value as the container gets it: from its
// env, else from a ConfigMap it takes whole with envFrom.
func configMapValue(objs []*k8sObject, c k8sContainer, name string) string {
	if v := envValue(c, name); v != "" {
		return v
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		if o := named(objs, "ConfigMap", ef.ConfigMapRef.Name); o != nil && o.Data[name] != "" {
			return o.Data[name]
		}
	}
	return ""
}

func portNamed(t *testing.T, c k8sContainer, name string) int {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s: no port named %q", c.Name, name)
	return 0
}

// resolvePort is the container port a probe's or Service's port (a name
// or a number) means; 0 if none.
func resolvePort(c k8sContainer, port any) int {
	for _, p := range c.Ports {
		switch v := port.(type) {
		case string:
			if p.Name == v {
				return p.ContainerPort
			}
		case int:
			if p.ContainerPort == v {
				return v
			}
		}
	}
	return 0
}

// checkResources wants requests and limits of CPU and memory, each
// request within its limit.
func checkResources(t *testing.T, where string, c k8sContainer) {
	t.Helper()
	for _, r := range []string{"cpu", "memory"} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req == "" || lim == "" {
			t.Errorf("%s: container %s: want both a request and a limit of %s (got %q, %q)", where, c.Name, r, req, lim)
			continue
		}
		rq, err1 := quantity(req)
		lq, err2 := quantity(lim)
		if err1 != nil || err2 != nil {
			t.Errorf("%s: container %s: %s: %v %v", where, c.Name, r, err1, err2)
		} else if rq > lq {
			t.Errorf("%s: container %s: %s request %s exceeds the limit %s", where, c.Name, r, req, lim)
		}
	}
}

// quantity reads the Kubernetes quantities the manifests use: 500m, 2,
// 256Mi, 1Gi.
func quantity(s string) (float64, error) {
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"m", 0.001}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("quantity %q: want a number with m, Ki, Mi or Gi", s)
	}
	return v * mult, nil
}

// checkSecurity wants a non-root user (want, the image's), no privilege
// escalation and a read-only root file system.
func checkSecurity(t *testing.T, where string, pod k8sPodSpec, c k8sContainer, want string) {
	t.Helper()
	nonRoot := c.SecurityContext.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = pod.SecurityContext.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		t.Errorf("%s: container %s: want runAsNonRoot: true", where, c.Name)
	}
	uid := c.SecurityContext.RunAsUser
	if uid == nil {
		uid = pod.SecurityContext.RunAsUser
	}
	if uid == nil {
		t.Errorf("%s: container %s: no runAsUser; want the image's USER %s (deploy/Dockerfile)", where, c.Name, want)
	} else if strconv.Itoa(*uid) != want {
		t.Errorf("%s: container %s: runAsUser %d; want the image's USER %s (deploy/Dockerfile)", where, c.Name, *uid, want)
	}
	if p := c.SecurityContext.ReadOnlyRootFilesystem; p == nil || !*p {
		t.Errorf("%s: container %s: want readOnlyRootFilesystem: true", where, c.Name)
	}
	if p := c.SecurityContext.AllowPrivilegeEscalation; p == nil || *p {
		t.Errorf("%s: container %s: want allowPrivilegeEscalation: false", where, c.Name)
	}
}
