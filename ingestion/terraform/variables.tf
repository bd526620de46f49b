# Variables du déploiement Airbyte (source BCEAO déclarative -> S3 bronze).
# Les secrets (sensitive = true) se passent de préférence par l'environnement :
#   export TF_VAR_bceao_api_key=...   (jamais dans un fichier versionné)

# --- Serveur Airbyte et authentification ---------------------------------------

variable "airbyte_server_url" {
  description = "URL de l'API publique du serveur Airbyte, par ex. http://localhost:8000/api/public/v1/ pour une installation locale (abctl) ou https://api.airbyte.com/v1 pour Airbyte Cloud."
  type        = string
}

variable "airbyte_client_id" {
  description = "Identifiant client (client_id) de l'application API Airbyte, flux OAuth2 client credentials."
  type        = string
  sensitive   = true
}

variable "airbyte_client_secret" {
  description = "Secret client (client_secret) de l'application API Airbyte."
  type        = string
  sensitive   = true
}

variable "airbyte_token_url" {
  description = "URL absolue d'obtention du jeton OAuth2. Laisser null pour Airbyte Cloud ; pour un serveur auto-hébergé, indiquer <serveur>/api/public/v1/applications/token (la valeur par défaut du provider est relative à la racine du serveur)."
  type        = string
  default     = null
}

variable "workspace_id" {
  description = "UUID de l'espace de travail (workspace) Airbyte qui recevra la définition de source, la source, la destination et la connexion."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.workspace_id))
    error_message = "workspace_id doit être un UUID (copiez-le depuis l'URL de l'espace de travail Airbyte)."
  }
}

# --- Source : API des indicateurs de la BCEAO (manifeste ingestion/manifest.yaml) ---

variable "bceao_api_url" {
  description = "URL de base de l'API des indicateurs économiques de la BCEAO (champ api_url du manifeste)."
  type        = string
}

variable "bceao_api_key" {
  description = "Clé d'API de la BCEAO (champ api_key du manifeste, secret)."
  type        = string
  sensitive   = true
}

variable "start_year" {
  description = "Première année des indicateurs à extraire (champ start_year du manifeste)."
  type        = number
  default     = 2010

  validation {
    condition     = var.start_year >= 1960 && var.start_year == floor(var.start_year)
    error_message = "start_year doit être une année entière postérieure ou égale à 1960."
  }
}

variable "countries" {
  description = "Codes ISO alpha-3 des pays à extraire (champ countries du manifeste) ; par défaut les 8 États de l'UEMOA."
  type        = list(string)
  default     = ["BEN", "BFA", "CIV", "GNB", "MLI", "NER", "SEN", "TGO"]

  validation {
    condition     = length(var.countries) > 0 && alltrue([for c in var.countries : contains(["BEN", "BFA", "CIV", "GNB", "MLI", "NER", "SEN", "TGO"], c)])
    error_message = "countries doit contenir au moins un code de pays de l'UEMOA : BEN, BFA, CIV, GNB, MLI, NER, SEN ou TGO."
  }
}

variable "start_datetime" {
  description = "Date de départ ISO-8601 de l'extraction incrémentale des flux raw_users et raw_events (champ start_datetime du manifeste)."
  type        = string
  default     = "2023-01-01T00:00:00Z"

  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", var.start_datetime)) && can(formatdate("YYYY", var.start_datetime))
    error_message = "start_datetime doit être un horodatage UTC de la forme AAAA-MM-JJTHH:MM:SSZ, par ex. 2023-01-01T00:00:00Z."
  }
}

variable "page_size" {
  description = "Nombre d'enregistrements demandés par page à l'API (champ page_size du manifeste)."
  type        = number
  default     = 1000

  validation {
    condition     = var.page_size >= 1 && var.page_size == floor(var.page_size)
    error_message = "page_size doit être un entier strictement positif."
  }
}

# --- Destination : stockage objet S3 (MinIO / SeaweedFS / AWS) --------------------

variable "s3_endpoint" {
  description = "URL du point d'accès S3 compatible (MinIO, SeaweedFS...), par ex. http://minio:9000 ; doit être joignable depuis les conteneurs du serveur Airbyte."
  type        = string
}

variable "s3_bucket" {
  description = "Nom du bucket d'atterrissage des fichiers Parquet."
  type        = string
  default     = "lakehouse"
}

variable "s3_bucket_path" {
  description = "Préfixe (dossier) sous le bucket où Airbyte écrit : la couche bronze du lakehouse."
  type        = string
  default     = "bronze"

  validation {
    condition     = length(var.s3_bucket_path) > 0 && !startswith(var.s3_bucket_path, "/") && !endswith(var.s3_bucket_path, "/")
    error_message = "s3_bucket_path ne doit être ni vide, ni commencer ou finir par « / »."
  }
}

variable "s3_access_key_id" {
  description = "Identifiant de la clé d'accès S3 (lecture et écriture sur le bucket)."
  type        = string
  sensitive   = true
}

variable "s3_secret_access_key" {
  description = "Clé secrète d'accès S3 associée à s3_access_key_id."
  type        = string
  sensitive   = true
}

variable "s3_region" {
  description = "Région S3 annoncée au connecteur ; us-east-1 convient à MinIO et SeaweedFS."
  type        = string
  default     = "us-east-1"
}

# --- Connexion -------------------------------------------------------------------

variable "schedule_cron" {
  description = "Planification de la synchronisation : expression cron au format Quartz (secondes minutes heures jour mois jour-semaine [année]) suivie du fuseau UTC, que l'API Airbyte ajoute d'elle-même (l'écrire évite un écart entre plan et état) ; par défaut tous les jours à 02:00 UTC."
  type        = string
  default     = "0 0 2 * * ? UTC"

  validation {
    condition     = endswith(var.schedule_cron, " UTC") && contains([6, 7], length(split(" ", trimspace(trimsuffix(var.schedule_cron, " UTC")))))
    error_message = "schedule_cron doit être une expression Quartz à 6 ou 7 champs suivie de « UTC », par ex. « 0 0 2 * * ? UTC »."
  }
}
