{{/* Names and labels shared by the chart's templates. */}}

{{- define "parquetrail.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The full name prefixes every object. It is kept to 40 characters so that
"<fullname>-day-creator" and the like stay valid names.
*/}}
{{- define "parquetrail.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "parquetrail.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "parquetrail.selectorLabels" -}}
app.kubernetes.io/name: {{ include "parquetrail.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "parquetrail.labels" -}}
helm.sh/chart: {{ include "parquetrail.chart" . }}
{{ include "parquetrail.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: parquetrail
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "parquetrail.managerSelectorLabels" -}}
{{ include "parquetrail.selectorLabels" . }}
app.kubernetes.io/component: manager
{{- end -}}

{{/* Service account names. */}}
{{- define "parquetrail.managerServiceAccountName" -}}
{{- if .Values.manager.serviceAccount.create -}}
{{- default (printf "%s-manager" (include "parquetrail.fullname" .)) .Values.manager.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.manager.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "parquetrail.workerServiceAccountName" -}}
{{- if .Values.worker.serviceAccount.create -}}
{{- default (printf "%s-worker" (include "parquetrail.fullname" .)) .Values.worker.serviceAccount.name -}}
{{- else -}}
{{- .Values.worker.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "parquetrail.dayCreatorServiceAccountName" -}}
{{- if .Values.daily.serviceAccount.create -}}
{{- default (printf "%s-day-creator" (include "parquetrail.fullname" .)) .Values.daily.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.daily.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference: repository, then @digest or :tag (default appVersion). */}}
{{- define "parquetrail.image" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository (default .appVersion .tag) -}}
{{- end -}}
{{- end -}}

{{- define "parquetrail.managerImage" -}}
{{- include "parquetrail.image" (merge (dict "appVersion" .Chart.AppVersion) .Values.manager.image) -}}
{{- end -}}

{{- define "parquetrail.workerImage" -}}
{{- include "parquetrail.image" (merge (dict "appVersion" .Chart.AppVersion) .Values.worker.image) -}}
{{- end -}}

{{/* The namespace of the days the CronJob creates. */}}
{{- define "parquetrail.daysNamespace" -}}
{{- default .Release.Namespace .Values.daily.day.namespace -}}
{{- end -}}

{{/*
The day template: the values' template with spec.workers filled from
worker.* where the template leaves it out, and without a date (create-day
sets it).
*/}}
{{- define "parquetrail.dayTemplate" -}}
{{- $d := .Values.daily.day -}}
{{- $spec := deepCopy (default dict $d.spec) -}}
{{- $_ := unset $spec "date" -}}
{{- $w := dict -}}
{{- with include "parquetrail.workerServiceAccountName" . }}{{ $_ := set $w "serviceAccountName" . }}{{ end -}}
{{- with .Values.worker.parallelism }}{{ $_ := set $w "parallelism" . }}{{ end -}}
{{- with .Values.worker.targetShardSize }}{{ $_ := set $w "targetShardSize" . }}{{ end -}}
{{- with .Values.worker.maxMergeIndexes }}{{ $_ := set $w "maxMergeIndexes" . }}{{ end -}}
{{- with .Values.worker.targetMergeRows }}{{ $_ := set $w "targetMergeRows" (int64 .) }}{{ end -}}
{{- with .Values.worker.resources }}{{ $_ := set $w "resources" . }}{{ end -}}
{{- with .Values.worker.imagePullPolicy }}{{ $_ := set $w "imagePullPolicy" . }}{{ end -}}
{{- with .Values.worker.nodeSelector }}{{ $_ := set $w "nodeSelector" . }}{{ end -}}
{{- with .Values.worker.tolerations }}{{ $_ := set $w "tolerations" . }}{{ end -}}
{{- $_ := set $spec "workers" (merge (default dict $spec.workers) $w) -}}
{{- $meta := dict "name" $d.name "namespace" (include "parquetrail.daysNamespace" .) -}}
{{- with $d.labels }}{{ $_ := set $meta "labels" . }}{{ end -}}
{{- with $d.annotations }}{{ $_ := set $meta "annotations" . }}{{ end -}}
{{- toYaml (dict "apiVersion" "parquetrail.io/v1alpha1" "kind" "CloudTrailDay" "metadata" $meta "spec" $spec) -}}
{{- end -}}
