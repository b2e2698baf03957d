"""The admin pages' messages, Dutch first and English switchable; keys they share with the citizen portal (skip
link, language switch, log out, session expired) come from the portal's catalogue (portal/i18n.py)."""

from __future__ import annotations

from verwerkingenlog.portal import i18n as portal_i18n
from verwerkingenlog.portal.i18n import DEFAULT_LANGUAGE, LANGUAGES

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "MESSAGES", "translate"]

MESSAGES: dict[str, dict[str, str]] = {
    "title": {"nl": "Beheer verwerkingenlog", "en": "Processing log administration"},
    "intro": {
        "nl": "Voor medewerkers van de gemeente: API-clients, het register van verwerkingsactiviteiten, "
        "de doelbindingsrapportage, de integriteit van het log en het auditlog.",
        "en": "For the municipality's employees: API clients, the register of processing activities, "
        "the purpose limitation report, the log's integrity and the audit trail.",
    },
    "off": {
        "nl": "De beheerpagina's staan uit. Ze zijn er alleen als ADMIN_OIDC_ISSUER is ingesteld "
        "(inloggen van medewerkers met OpenID Connect, zie docs/admin.md).",
        "en": "The admin pages are switched off. They exist only when ADMIN_OIDC_ISSUER is set "
        "(employee login with OpenID Connect, see docs/admin.md).",
    },
    "login_oidc": {"nl": "Inloggen als medewerker", "en": "Log in as an employee"},
    "login_failed": {"nl": "Inloggen is niet gelukt.", "en": "Login failed."},
    "login": {"nl": "Inloggen", "en": "Log in"},
    "login_demo": {"nl": "Demo-login", "en": "Demo login"},
    "login_demo_pick": {"nl": "Kies een demorol", "en": "Pick a demo role"},
    "demo_name_beheerder": {"nl": "Demo-beheerder", "en": "Demo administrator"},
    "demo_name_fg": {"nl": "Demo-FG (privacy officer)", "en": "Demo privacy officer (FG)"},
    "demo_banner": {
        "nl": "Demonstratieomgeving: inloggen zonder account, met een gekozen rol. Niet voor echte gegevens.",
        "en": "Demonstration environment: log in without an account, in a role of your choice. Not for real data.",
    },
    "forbidden": {
        "nl": "U heeft geen toegang tot dit onderdeel. Vraag uw functioneel beheerder om de juiste groep.",
        "en": "You have no access to this part. Ask your administrator for the right group.",
    },
    "not_found": {"nl": "Niet gevonden.", "en": "Not found."},
    "logged_in_as": {"nl": "Ingelogd als {name} ({roles})", "en": "Logged in as {name} ({roles})"},
    "no_roles": {"nl": "geen rol", "en": "no role"},
    "nav": {"nl": "Beheeronderdelen", "en": "Administration sections"},
    "home": {"nl": "Overzicht", "en": "Overview"},
    "clients": {"nl": "API-clients", "en": "API clients"},
    "var": {"nl": "Verwerkingsactiviteiten", "en": "Processing activities"},
    "report": {"nl": "Doelbinding", "en": "Purpose limitation"},
    "integrity": {"nl": "Integriteit", "en": "Integrity"},
    "audit": {"nl": "Auditlog", "en": "Audit trail"},
    # clients
    "client_id": {"nl": "Client-id", "en": "Client id"},
    "scopes": {"nl": "Scopes", "en": "Scopes"},
    "actions": {"nl": "Acties", "en": "Actions"},
    "client_new": {"nl": "Nieuwe client", "en": "New client"},
    "create": {"nl": "Aanmaken", "en": "Create"},
    "rotate": {"nl": "Nieuw geheim", "en": "New secret"},
    "rotate_for": {"nl": "Nieuw geheim voor {id}", "en": "New secret for {id}"},
    "revoke": {"nl": "Intrekken", "en": "Revoke"},
    "revoke_for": {"nl": "{id} intrekken", "en": "Revoke {id}"},
    "no_clients": {"nl": "Er zijn geen clients.", "en": "There are no clients."},
    "secret_once": {
        "nl": "Het geheim van {id}. Het wordt maar één keer getoond: bewaar het nu veilig. "
        "Tokens die met een eerder geheim zijn ondertekend werken niet meer.",
        "en": "The secret of {id}. It is shown only once: store it safely now. "
        "Tokens signed with an earlier secret no longer work.",
    },
    "secret": {"nl": "Geheim", "en": "Secret"},
    "revoked": {
        "nl": "Client {id} is ingetrokken; zijn tokens werken niet meer.",
        "en": "Client {id} was revoked; its tokens no longer work.",
    },
    "client_exists": {"nl": "Er bestaat al een client {id}.", "en": "A client {id} exists already."},
    "client_invalid": {
        "nl": "Een client-id heeft 1 tot 100 tekens, en alleen bekende scopes zijn toegestaan.",
        "en": "A client id has 1 to 100 characters, and only known scopes are allowed.",
    },
    "portal_client": {
        "nl": "Let op: de client ‘portal’ is die van het burgerportaal; na een nieuw geheim of intrekken moet het "
        "register opnieuw starten.",
        "en": "Note: the client ‘portal’ is the citizen portal's; after a new secret or revocation the register "
        "must restart.",
    },
    "signs_with": {"nl": "Ondertekent met", "en": "Signs with"},
    "kind_secret": {"nl": "geheim (HS256)", "en": "secret (HS256)"},
    "kind_public-key": {"nl": "eigen sleutel (publieke sleutel)", "en": "own key (public key)"},
    "kind_jwks": {"nl": "eigen sleutel (JWKS-URL)", "en": "own key (JWKS URL)"},
    "own_key": {
        "nl": "Of: de client ondertekent met een eigen privésleutel (ES256 of EdDSA) en deelt geen geheim. "
        "Vul dan één van beide in:",
        "en": "Or: the client signs with a private key of its own (ES256 or EdDSA) and shares no secret. "
        "Then fill in one of these:",
    },
    "public_key_pem": {"nl": "Publieke sleutel (PEM)", "en": "Public key (PEM)"},
    "jwks_url": {"nl": "JWKS-URL (https)", "en": "JWKS URL (https)"},
    "client_key_invalid": {
        "nl": "Deze sleutel of URL is niet te gebruiken: {reason}",
        "en": "This key or URL cannot be used: {reason}",
    },
    "client_own_key": {
        "nl": "Client {id} is aangemaakt. Het register controleert zijn tokens met zijn publieke sleutel; "
        "er is geen geheim.",
        "en": "Client {id} was created. The register verifies its tokens with its public key; there is no secret.",
    },
    "back_to": {"nl": "Terug naar {page}", "en": "Back to {page}"},
    # VAR
    "var_new": {"nl": "Nieuwe verwerkingsactiviteit", "en": "New processing activity"},
    "var_edit": {"nl": "Verwerkingsactiviteit wijzigen", "en": "Change processing activity"},
    "var_import": {"nl": "Importeren (CSV of XLSX)", "en": "Import (CSV or XLSX)"},
    "var_none": {
        "nl": "Er zijn geen geldige verwerkingsactiviteiten.",
        "en": "There are no valid processing activities.",
    },
    "naam": {"nl": "Naam", "en": "Name"},
    "organisatie": {"nl": "Organisatie (OIN)", "en": "Organisation (OIN)"},
    "grondslag": {"nl": "Grondslag", "en": "Legal basis"},
    "versie": {"nl": "Versie", "en": "Version"},
    "change": {"nl": "Wijzigen", "en": "Change"},
    "save": {"nl": "Opslaan", "en": "Save"},
    "retire": {"nl": "Intrekken", "en": "Retire"},
    "retired": {"nl": "Verwerkingsactiviteit {id} is ingetrokken.", "en": "Processing activity {id} was retired."},
    "saved": {"nl": "Opgeslagen: {id}, versie {versie}.", "en": "Saved: {id}, version {versie}."},
    "unchanged": {"nl": "Niets gewijzigd.", "en": "Nothing changed."},
    "errors": {"nl": "Het formulier bevat fouten:", "en": "The form has errors:"},
    "optional_id": {
        "nl": "Id (UUID; leeg laten voor een nieuwe)",
        "en": "Id (UUID; leave empty for a new one)",
    },
    "one_per_line": {"nl": "één per regel", "en": "one per line"},
    "pg_hint": {"nl": "één per regel, ‘Rol: gegeven’", "en": "one per line, ‘Role: data’"},
    "vertalingen_hint": {"nl": "JSON, bijvoorbeeld {example}", "en": "JSON, for example {example}"},
    "page_n": {"nl": "Pagina {n} van {of}", "en": "Page {n} of {of}"},
    "previous": {"nl": "Vorige", "en": "Previous"},
    "next": {"nl": "Volgende", "en": "Next"},
    "file": {"nl": "Bestand", "en": "File"},
    "organisatie_default": {
        "nl": "Organisatie (OIN) voor rijen zonder organisatie",
        "en": "Organisation (OIN) for rows without one",
    },
    "dry_run": {"nl": "Alleen controleren, niets opslaan", "en": "Check only, store nothing"},
    "import": {"nl": "Importeren", "en": "Import"},
    "import_result": {
        "nl": "{file}: {new} nieuw, {changed} gewijzigd, {unchanged} ongewijzigd, {rejected} afgewezen.",
        "en": "{file}: {new} new, {changed} changed, {unchanged} unchanged, {rejected} rejected.",
    },
    "import_dry": {"nl": "Controle, niets opgeslagen.", "en": "Check only, nothing stored."},
    "rejected_rows": {"nl": "Afgewezen rijen", "en": "Rejected rows"},
    "row": {"nl": "Rij", "en": "Row"},
    "column": {"nl": "Kolom", "en": "Column"},
    "reason": {"nl": "Reden", "en": "Reason"},
    "ignored_columns": {"nl": "Genegeerde kolommen: {cols}", "en": "Ignored columns: {cols}"},
    "import_unusable": {"nl": "Het bestand is niet te gebruiken: {reason}", "en": "The file cannot be used: {reason}"},
    # report
    "report_intro": {
        "nl": "Logregels waarvan de verwerkingsactiviteit ontbreekt, onbekend is, op hun tijdstip was ingetrokken "
        "of van een andere organisatie is dan de uitvoerder (§17.4).",
        "en": "Log entries whose processing activity is missing, unknown, retired at their time, or another "
        "organisation's than the performer's (§17.4).",
    },
    "from": {"nl": "Vanaf", "en": "From"},
    "to": {"nl": "Tot", "en": "Until"},
    "systeem": {"nl": "Systeem", "en": "System"},
    "show": {"nl": "Toon", "en": "Show"},
    "report_none": {
        "nl": "Elke logregel noemt een bekende, geldige activiteit van de eigen organisatie.",
        "en": "Every log entry names a known, valid activity of its own organisation.",
    },
    "bevinding": {"nl": "Bevinding", "en": "Finding"},
    "client": {"nl": "Client", "en": "Client"},
    "activiteit": {"nl": "Activiteit", "en": "Activity"},
    "uitvoerder": {"nl": "Uitvoerder", "en": "Performer"},
    "aantal": {"nl": "Aantal", "en": "Entries"},
    "laatste": {"nl": "Laatste", "en": "Last"},
    "voorbeelden": {"nl": "Voorbeelden (actieId)", "en": "Examples (actieId)"},
    "invalid_period": {"nl": "Ongeldige periode: {reason}", "en": "Invalid period: {reason}"},
    # the FG's tools (docs/fg.md)
    "controle": {"nl": "Controle", "en": "Oversight"},
    "controle_intro": {
        "nl": "Wie verwerkte de gegevens van een persoon, en signalen van misbruik. Elke blik hier wordt zelf "
        "gelogd als verwerking van de getoonde personen (“Controle door de functionaris gegevensbescherming”); "
        "kies vertrouwelijk om dat voor de betrokkene verborgen te houden tot u het opheft.",
        "en": "Who processed a person's data, and signals of misuse. Every look here is itself logged as a processing "
        "of the persons shown (“Controle door de functionaris gegevensbescherming”); choose confidential to "
        "hide it from them until you lift it.",
    },
    "bsn": {"nl": "BSN", "en": "BSN"},
    "vertrouwelijk_onderzoek": {"nl": "Vertrouwelijk onderzoek", "en": "Confidential investigation"},
    "zoek_persoon": {"nl": "Zoek persoon", "en": "Search person"},
    "verwerkers": {"nl": "Wie verwerkte de gegevens", "en": "Who processed the data"},
    "regels": {"nl": "Logregels", "en": "Log entries"},
    "gebruiker": {"nl": "Gebruiker", "en": "User"},
    "eerste": {"nl": "Eerste", "en": "First"},
    "tijdstip": {"nl": "Tijdstip", "en": "Time"},
    "doel": {"nl": "Doel", "en": "Purpose"},
    "geen_regels": {"nl": "Geen logregels voor deze persoon.", "en": "No log entries for this person."},
    "signalen": {"nl": "Signalen", "en": "Signals"},
    "toon_signalen": {"nl": "Toon signalen", "en": "Show signals"},
    "geen_signalen": {"nl": "Geen signalen in deze periode.", "en": "No signals in this period."},
    "soort": {"nl": "Soort", "en": "Kind"},
    "uitleg": {"nl": "Uitleg", "en": "Explanation"},
    "controle_gelogd": {
        "nl": "Deze blik is gelogd met verwerkingId {id} ({v}).",
        "en": "This look was logged with verwerkingId {id} ({v}).",
    },
    "bsn_required": {"nl": "Vul een BSN in.", "en": "Enter a BSN."},
    "period_required": {"nl": "Kies een begin- en einddatum.", "en": "Choose a start and end date."},
    # integrity
    "checkpoint": {"nl": "Laatste checkpoint", "en": "Latest checkpoint"},
    "no_checkpoint": {"nl": "Er is nog geen checkpoint ondertekend.", "en": "No checkpoint has been signed yet."},
    "tree_size": {"nl": "Aantal bladeren in het log", "en": "Leaves in the log"},
    "cp_size": {"nl": "Omvang checkpoint", "en": "Checkpoint size"},
    "cp_when": {"nl": "Ondertekend op", "en": "Signed at"},
    "cp_age": {"nl": "Leeftijd", "en": "Age"},
    "cp_behind": {"nl": "Bladeren nog niet in een checkpoint", "en": "Leaves not yet in a checkpoint"},
    "minutes": {"nl": "{n} minuten", "en": "{n} minutes"},
    "verify_last": {"nl": "Laatste verify", "en": "Last verify"},
    "verify_none": {"nl": "Verify is nog niet uitgevoerd.", "en": "Verify has not run yet."},
    "verify_ok": {
        "nl": "In orde: elk blad klopt met zijn rij en met elk checkpoint.",
        "en": "OK: every leaf matches its row and every checkpoint.",
    },
    "verify_findings": {"nl": "{n} bevinding(en)", "en": "{n} finding(s)"},
    "verify_run": {"nl": "Verify nu uitvoeren", "en": "Run verify now"},
    "verify_by": {"nl": "Uitgevoerd door", "en": "Run by"},
    "verify_when": {"nl": "Uitgevoerd op", "en": "Run at"},
    "verify_checkpoints": {"nl": "Gecontroleerde checkpoints", "en": "Checkpoints checked"},
    "verify_purged": {"nl": "Opgeschoonde bladeren", "en": "Purged leaves"},
    "leaf": {"nl": "Blad", "en": "Leaf"},
    "entry": {"nl": "Regel", "en": "Entry"},
    "detail": {"nl": "Toelichting", "en": "Detail"},
    # audit
    "audit_intro": {
        "nl": "Elke beheeractie, met wie, wanneer, wat, waarop en de uitkomst. Nooit geheimen of BSN's.",
        "en": "Every administrative action: who, when, what, on what, and the outcome. Never secrets or BSNs.",
    },
    "audit_none": {"nl": "Nog geen beheeracties.", "en": "No administrative actions yet."},
    "when": {"nl": "Wanneer", "en": "When"},
    "who": {"nl": "Wie", "en": "Who"},
    "action": {"nl": "Actie", "en": "Action"},
    "target": {"nl": "Waarop", "en": "Target"},
    "outcome": {"nl": "Uitkomst", "en": "Outcome"},
}


def translate(key: str, lang: str, **values: object) -> str:
    """The admin text, else the portal's (shared keys), else the key itself."""
    texts = MESSAGES.get(key)
    if texts is None:
        return portal_i18n.translate(key, lang, **values)
    text = texts.get(lang) or texts[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text
