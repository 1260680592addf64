{{/* Chart name, truncated to the 63 characters of a label value. */}}
{{- define "foundry-controller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: the release name when it already contains the chart name
(`helm install foundry-controller ...` gives "foundry-controller"), else
"<release>-<chart>".
*/}}
{{- define "foundry-controller.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "foundry-controller.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "foundry-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "foundry-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Standard labels on every object. */}}
{{- define "foundry-controller.labels" -}}
helm.sh/chart: {{ include "foundry-controller.chart" . }}
{{ include "foundry-controller.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: foundry-controller
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "foundry-controller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "foundry-controller.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "foundry-controller.leaderElectionID" -}}
{{- default (printf "%s-leader" (include "foundry-controller.fullname" .)) .Values.leaderElection.id }}
{{- end }}

{{- define "foundry-controller.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
PodDisruptionBudget API: policy/v1 from Kubernetes 1.21, policy/v1beta1 before.
"policy/v1" alone is tested too: offline `helm template` knows group/versions
but not kinds.
*/}}
{{- define "foundry-controller.pdbApiVersion" -}}
{{- if or (.Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget") (.Capabilities.APIVersions.Has "policy/v1") }}policy/v1{{ else }}policy/v1beta1{{ end }}
{{- end }}

{{/*
Cross-field rules the JSON schema does not express readably. Included by the
Deployment, so `helm template` and `helm install` both fail early.
*/}}
{{- define "foundry-controller.validate" -}}
{{- $az := .Values.azure }}
{{- if and $az.workloadIdentity $az.existingSecret }}
{{- fail "azure.workloadIdentity and azure.existingSecret are exclusive: choose one credential" }}
{{- end }}
{{- if and $az.workloadIdentity (not $az.clientId) }}
{{- fail "azure.workloadIdentity needs azure.clientId (the managed identity or app registration's client ID)" }}
{{- end }}
{{- if and $az.existingSecret (or (not $az.tenantId) (not $az.clientId)) }}
{{- fail "azure.existingSecret needs azure.tenantId and azure.clientId" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 needs leaderElection.enabled: two active controllers would fight over llm-config" }}
{{- end }}
{{- end }}

{{/* The controller's command line (DESIGN.md §5). */}}
{{- define "foundry-controller.args" -}}
- run
{{- if .Values.leaderElection.enabled }}
- --leader-elect
- --leader-election-namespace=$(POD_NAMESPACE)
- --leader-election-id={{ include "foundry-controller.leaderElectionID" . }}
{{- end }}
- --metrics-bind-address=:{{ .Values.metrics.port }}
- --health-probe-bind-address=:{{ .Values.health.port }}
{{- with .Values.watchNamespace }}
- --namespace={{ . }}
{{- end }}
- --configmap-name={{ .Values.configMapName }}
- --azure-validation={{ .Values.azure.validation }}
- --azure-cloud={{ .Values.azure.cloud }}
{{- with .Values.azure.armEndpoint }}
- --azure-arm-endpoint={{ . }}
{{- end }}
{{- if .Values.azure.caBundle.configMap }}
- --azure-ca-file=/etc/foundry-controller/ca/{{ .Values.azure.caBundle.key }}
{{- end }}
- --catalog-ttl={{ .Values.azure.catalogTTL }}
- --deployment-ttl={{ .Values.azure.deploymentTTL }}
- --retirement-warning={{ .Values.azure.retirementWarning }}
{{- with .Values.azure.suggestRegions }}
- --suggest-regions={{ join "," . }}
{{- end }}
- --log-format={{ .Values.logFormat }}
- --log-level={{ .Values.logLevel }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}
