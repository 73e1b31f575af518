{{/* Names, truncated to 63 characters as Kubernetes requires. */}}
{{- define "burnafter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "burnafter.fullname" -}}
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

{{- define "burnafter.component" -}}
{{- printf "%s-%s" (include "burnafter.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "burnafter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "burnafter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "burnafter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "burnafter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: call with (dict "root" $ "component" "api"). */}}
{{- define "burnafter.componentLabels" -}}
{{ include "burnafter.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "burnafter.componentSelector" -}}
{{ include "burnafter.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "burnafter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "burnafter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "burnafter.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret and key that hold DATABASE_URL. */}}
{{- define "burnafter.databaseSecret" -}}
{{- if .Values.database.cloudnativepg.enabled -}}
{{ include "burnafter.fullname" . }}-db-app
{{- else -}}
{{ .Values.database.existingSecret }}
{{- end }}
{{- end }}

{{- define "burnafter.databaseKey" -}}
{{- if .Values.database.cloudnativepg.enabled -}}uri{{- else -}}{{ .Values.database.urlKey }}{{- end }}
{{- end }}

{{/* The CloudNativePG Pooler's name, which is its Service's. */}}
{{- define "burnafter.poolerName" -}}
{{ include "burnafter.fullname" . | trunc 50 | trimSuffix "-" }}-db-pooler-rw
{{- end }}

{{- define "burnafter.throughPooler" -}}
{{- if and .Values.database.cloudnativepg.enabled .Values.database.cloudnativepg.pooler.enabled }}true{{ end }}
{{- end }}

{{/* Environment shared by every container, the migration Job's included (a
pre-install hook runs before the ConfigMap exists). Through a CloudNativePG Pooler,
the URL names the pooler and the app Secret gives the user and password, as libpq's
PGUSER and PGPASSWORD (read by asyncpg too): no password is put into a URL; and
prepared statements are not cached (docs/operations.md, "Behind PgBouncer"). */}}
{{- define "burnafter.env" -}}
{{- $pooled := include "burnafter.throughPooler" . -}}
- name: DB_STATEMENT_CACHE_SIZE
  value: {{ ternary 0 .Values.config.dbStatementCacheSize (eq $pooled "true") | int64 | quote }}
{{- if $pooled }}
- name: DATABASE_URL
  value: {{ printf "postgresql://%s:5432/burnafter" (include "burnafter.poolerName" .) | quote }}
- name: PGUSER
  valueFrom:
    secretKeyRef: {name: {{ include "burnafter.databaseSecret" . }}, key: username}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef: {name: {{ include "burnafter.databaseSecret" . }}, key: password}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "burnafter.databaseSecret" . }}
      key: {{ include "burnafter.databaseKey" . }}
{{- end }}
{{- if .Values.secrets.existingSecret }}
- name: AUDIT_KEY
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.existingSecret }}, key: AUDIT_KEY, optional: true}
- name: ADMIN_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.existingSecret }}, key: ADMIN_TOKEN, optional: true}
- name: WEBHOOKS
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.existingSecret }}, key: WEBHOOKS, optional: true}
- name: SMTP_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.existingSecret }}, key: SMTP_PASSWORD, optional: true}
{{- end }}
{{- end }}

{{/* The pod template of a long-running component: (dict "root" $ "component" "api" "values" .Values.api "args" (list "api") "httpPort" true).
"brandLogo" true (the web pods, which serve the pages) mounts config.brand.logo's
ConfigMap, when set, and points BRAND_LOGO at it. */}}
{{- define "burnafter.podTemplate" -}}
{{- $root := .root -}}
{{- $values := .values -}}
{{- $logo := dict -}}
{{- if and .brandLogo $root.Values.config.brand.logo.configMap -}}
{{- $logo = $root.Values.config.brand.logo -}}
{{- $_ := required "config.brand.logo.key is needed with config.brand.logo.configMap: the ConfigMap's key holding the image (e.g. logo.svg)" $logo.key -}}
{{- end -}}
metadata:
  labels:
    {{- /* podLabels, but never over the chart's own selector labels */}}
    {{- $selector := fromYaml (include "burnafter.componentSelector" .) }}
    {{- toYaml (merge $selector ($values.podLabels | default dict)) | nindent 4 }}
  annotations:
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- with $values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "burnafter.serviceAccountName" $root }}
  automountServiceAccountToken: false
  {{- with $values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ add $root.Values.config.shutdownDrain $root.Values.config.shutdownGrace 5 }}
  containers:
    - name: {{ .component }}
      image: {{ include "burnafter.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args: {{ toJson .args }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      envFrom:
        - configMapRef:
            name: {{ include "burnafter.fullname" $root }}
      env:
        {{- include "burnafter.env" $root | nindent 8 }}
        {{- if $logo }}
        - name: BRAND_LOGO
          value: {{ printf "/etc/burnafter/brand/%s" $logo.key | quote }}
        {{- end }}
        {{- with $values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        {{- if .httpPort }}
        - name: http
          containerPort: 8080
          protocol: TCP
        {{- end }}
        - name: metrics
          containerPort: {{ $root.Values.metrics.port }}
          protocol: TCP
      livenessProbe:
        httpGet: {path: {{ $values.livenessProbe.path }}, port: {{ ternary "http" "metrics" .httpPort }}}
        periodSeconds: {{ $values.livenessProbe.periodSeconds }}
        failureThreshold: {{ $values.livenessProbe.failureThreshold }}
      readinessProbe:
        httpGet: {path: {{ $values.readinessProbe.path }}, port: {{ ternary "http" "metrics" .httpPort }}}
        periodSeconds: {{ $values.readinessProbe.periodSeconds }}
        failureThreshold: {{ $values.readinessProbe.failureThreshold }}
      resources:
        {{- toYaml $values.resources | nindent 8 }}
      {{- if or $logo $values.extraVolumeMounts }}
      volumeMounts:
        {{- if $logo }}
        - name: brand
          mountPath: /etc/burnafter/brand
          readOnly: true
        {{- end }}
        {{- with $values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
  {{- if or $logo $values.extraVolumes }}
  volumes:
    {{- if $logo }}
    # The operator's ConfigMap: only the logo's key, read-only.
    - name: brand
      configMap:
        name: {{ $logo.configMap }}
        items:
          - {key: {{ $logo.key | quote }}, path: {{ $logo.key | quote }}}
        defaultMode: 0444
    {{- end }}
    {{- with $values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- if or $values.spreadOverNodesAndZones $values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- if $values.spreadOverNodesAndZones }}
    {{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
    - maxSkew: 1
      topologyKey: {{ $key }}
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "burnafter.componentSelector" $ | nindent 10 }}
    {{- end }}
    {{- end }}
    {{- with $values.topologySpreadConstraints }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- with $values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* Refuse identity trust that nothing restricts (security review finding 13). The
api and web pods believe the identity headers from config.trustedProxies, and the
ingress controller's pod IPs are not fixed, so the CIDR there holds other pods
too: only a NetworkPolicy admitting nothing but the controller's pods makes the
trust mean "from the ingress controller". Called by configmap.yaml. */}}
{{- define "burnafter.checkIdentityTrust" -}}
{{- $v := .Values -}}
{{- if and (or $v.config.trustedProxies $v.sso.enabled) (not $v.networkPolicy.enabled) (not $v.identity.trustWithoutNetworkPolicy) -}}
{{- $headers := ternary $v.sso.responseHeaders (list $v.config.identityHeader $v.config.groupsHeader) $v.sso.enabled -}}
{{- $who := printf "%s and %s (who is signed in, who is an admin)" (index $headers 0) (index $headers 1) -}}
{{- $why := printf "sso.enabled needs the api and web pods to believe %s from the ingress controller's pods (config.trustedProxies)" $who -}}
{{- if $v.config.trustedProxies -}}
{{- $why = printf "config.trustedProxies (%s) makes every api and web pod believe %s from those addresses" $v.config.trustedProxies $who -}}
{{- end -}}
{{- fail (printf "identity trust without a NetworkPolicy: %s, but networkPolicy.enabled is false, so any pod that can reach them could claim to be any user. Either set networkPolicy.enabled=true, with networkPolicy.ingressControllerNamespace and networkPolicy.ingressControllerPodLabels naming the ingress controller's pods (or oauth2-proxy's, if it proxies to burnafter itself): the policy then lets only those pods reach api and web, and config.trustedProxies may be the pod CIDR. Or, if something else already admits only those pods, set identity.trustWithoutNetworkPolicy=true. See the chart README, \"Trusted proxies and identity\"." $why) -}}
{{- end -}}
{{- end }}
