"""The portal's message catalogue: Dutch first, English switchable. A missing English text falls back to Dutch."""

from __future__ import annotations

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

MESSAGES: dict[str, dict[str, str]] = {
    "title": {"nl": "Mijn verwerkingen", "en": "My processings"},
    "skip": {"nl": "Naar de inhoud", "en": "Skip to content"},
    "intro": {
        "nl": "Hier ziet u welke organisaties uw persoonsgegevens hebben verwerkt, wanneer en waarom.",
        "en": "Here you see which organisations processed your personal data, when and why.",
    },
    "demo_banner": {
        "nl": "Demonstratieomgeving: inloggen zonder DigiD met verzonnen burgers. Niet voor echte gegevens.",
        "en": "Demonstration environment: log in without DigiD as made-up citizens. Not for real data.",
    },
    "login": {"nl": "Inloggen", "en": "Log in"},
    "login_oidc": {"nl": "Inloggen met DigiD", "en": "Log in with DigiD"},
    "login_demo": {"nl": "Demo-login", "en": "Demo login"},
    "login_demo_pick": {"nl": "Kies een demoburger", "en": "Choose a demo citizen"},
    "login_none": {
        "nl": "Er is geen inlogmethode ingesteld. Neem contact op met de gemeente.",
        "en": "No login method has been configured. Please contact the municipality.",
    },
    "login_failed": {"nl": "Inloggen is niet gelukt. Probeer het opnieuw.", "en": "Login failed. Please try again."},
    "logout": {"nl": "Uitloggen", "en": "Log out"},
    "language": {"nl": "Taal", "en": "Language"},
    "switch_to": {"nl": "English", "en": "Nederlands"},
    "period": {"nl": "Periode", "en": "Period"},
    "period_maand": {"nl": "Afgelopen maand", "en": "Last month"},
    "period_jaar": {"nl": "Afgelopen jaar", "en": "Last year"},
    "period_alles": {"nl": "Alles", "en": "Everything"},
    "period_eigen": {"nl": "Eigen periode", "en": "Custom period"},
    "from": {"nl": "Van", "en": "From"},
    "to": {"nl": "Tot en met", "en": "Up to and including"},
    "show": {"nl": "Toon", "en": "Show"},
    "none_found": {
        "nl": "Er zijn in deze periode geen verwerkingen van uw gegevens gevonden.",
        "en": "No processings of your data were found in this period.",
    },
    "count": {"nl": "{n} verwerkingen gevonden", "en": "{n} processings found"},
    "unreachable": {
        "nl": "Het register ‘{naam}’ kon niet worden bereikt. Het overzicht is daardoor onvolledig; "
        "probeer het later opnieuw.",
        "en": "The register ‘{naam}’ could not be reached, so this overview is incomplete; please try again later.",
    },
    "not_configured": {
        "nl": "De koppeling met de registers is niet ingesteld (PORTAL_OIN ontbreekt).",
        "en": "The connection to the registers is not configured (PORTAL_OIN is missing).",
    },
    "details": {"nl": "Details", "en": "Details"},
    "back": {"nl": "Terug naar het overzicht", "en": "Back to the overview"},
    "not_found": {
        "nl": "Deze verwerking is niet gevonden bij uw gegevens.",
        "en": "This processing was not found among your data.",
    },
    "register": {"nl": "Register", "en": "Register"},
    "when": {"nl": "Wanneer", "en": "When"},
    "what": {"nl": "Wat er gebeurde", "en": "What was done"},
    "actie": {"nl": "Actie", "en": "Action"},
    "handeling": {"nl": "Handeling", "en": "Step"},
    "verwerking": {"nl": "Verwerking", "en": "Processing"},
    "organisatie": {"nl": "Verantwoordelijke organisatie", "en": "Responsible organisation"},
    "uitvoerder": {"nl": "Uitgevoerd door", "en": "Carried out by"},
    "rol": {"nl": "Uw rol", "en": "Your role"},
    "doel": {"nl": "Doel", "en": "Purpose"},
    "grondslag": {"nl": "Grondslag", "en": "Legal basis"},
    "uitleg": {"nl": "Uitleg", "en": "Explanation"},
    "gegevens": {"nl": "Soorten gegevens", "en": "Kinds of data"},
    "afnemer": {"nl": "Gegevens geleverd aan", "en": "Data delivered to"},
    "geen_afnemer": {"nl": "Niet aan een andere partij geleverd", "en": "Not delivered to another party"},
    "bewaartermijn": {"nl": "Bewaartermijn", "en": "Retention"},
    "onbekend": {"nl": "Onbekend", "en": "Unknown"},
    "geen_uitleg": {
        "nl": "De gemeente heeft voor deze verwerking (nog) geen uitleg in haar register van verwerkingsactiviteiten.",
        "en": "The municipality has no explanation for this processing in its register of processing activities (yet).",
    },
    "opgeheven": {"nl": "Vertrouwelijkheid opgeheven", "en": "Confidentiality lifted"},
    "acties": {"nl": "Acties binnen deze verwerking", "en": "Actions within this processing"},
    "download": {"nl": "Downloaden", "en": "Download"},
    "pdf": {
        "nl": "Overzicht als PDF (inzageverzoek, AVG art. 15)",
        "en": "Overview as PDF (access request, GDPR art. 15)",
    },
    "json": {"nl": "Gegevens als JSON (AVG art. 20)", "en": "Data as JSON (GDPR art. 20)"},
    "csv": {"nl": "Gegevens als CSV (AVG art. 20)", "en": "Data as CSV (GDPR art. 20)"},
    "too_many": {
        "nl": "Te veel verzoeken. Wacht even en probeer het opnieuw.",
        "en": "Too many requests. Please wait.",
    },
    "session_expired": {
        "nl": "Uw sessie is verlopen of het formulier is ongeldig. Probeer het opnieuw.",
        "en": "Your session expired or the form is invalid. Please try again.",
    },
    "pdf_title": {
        "nl": "Overzicht verwerkingen van uw persoonsgegevens",
        "en": "Overview of processings of your personal data",
    },
    "pdf_intro": {
        "nl": "Dit overzicht is het antwoord op uw verzoek om inzage (artikel 15 AVG). Het bevat de verwerkingen "
        "van uw persoonsgegevens die in de onderstaande registers zijn vastgelegd van {begin} tot en met {eind}.",
        "en": "This overview answers your access request (GDPR article 15). It lists the processings of your "
        "personal data recorded in the registers below from {begin} up to and including {eind}.",
    },
    "pdf_made": {"nl": "Opgesteld op {when}", "en": "Made on {when}"},
    "pdf_registers": {"nl": "Geraadpleegde registers: {names}", "en": "Registers consulted: {names}"},
    "summary_title": {"nl": "Wie heeft uw gegevens verwerkt?", "en": "Who processed your data?"},
    "summary_one": {
        "nl": "In deze periode: {n} verwerking door {m} organisatie(s).",
        "en": "In this period: {n} processing by {m} organisation(s).",
    },
    "summary_other": {
        "nl": "In deze periode: {n} verwerkingen door {m} organisatie(s).",
        "en": "In this period: {n} processings by {m} organisation(s).",
    },
    "chart_title": {"nl": "Aantal verwerkingen per organisatie", "en": "Number of processings per organisation"},
    "org_count_one": {"nl": "{n} verwerking", "en": "{n} processing"},
    "org_count_other": {"nl": "{n} verwerkingen", "en": "{n} processings"},
    "doelen": {"nl": "Doelen", "en": "Purposes"},
    "own_lookups_one": {
        "nl": "U bekijkt dit overzicht nu voor het eerst in deze periode.",
        "en": "This is the first time you view this overview in this period.",
    },
    "own_lookups_other": {
        "nl": "U heeft dit overzicht {n} keer bekeken, deze keer meegeteld; de vorige keer op {when}.",
        "en": "You have viewed this overview {n} times, this time included; the previous time on {when}.",
    },
    "own_lookups_then_one": {
        "nl": "U heeft dit overzicht in deze periode 1 keer bekeken, op {when}.",
        "en": "You viewed this overview once in this period, on {when}.",
    },
    "own_lookups_then_other": {
        "nl": "U heeft dit overzicht in deze periode {n} keer bekeken, het laatst op {when}.",
        "en": "You viewed this overview {n} times in this period, most recently on {when}.",
    },
    "kenmerk_title": {"nl": "Zoeken met een kenmerk uit een brief", "en": "Look up a reference from a letter"},
    "kenmerk_label": {"nl": "Kenmerk van de verwerking", "en": "Reference of the processing"},
    "kenmerk_hint": {
        "nl": "Het kenmerk (verwerkingId of trace-id) staat in de brief, bijvoorbeeld "
        "3f2b8c1e-5a7d-4e9f-8b6a-1c2d3e4f5a6b of 3f2b8c1e5a7d4e9f8b6a1c2d3e4f5a6b.",
        "en": "The reference (verwerkingId or trace id) is in the letter, for example "
        "3f2b8c1e-5a7d-4e9f-8b6a-1c2d3e4f5a6b or 3f2b8c1e5a7d4e9f8b6a1c2d3e4f5a6b.",
    },
    "kenmerk_button": {"nl": "Zoeken", "en": "Search"},
    "kenmerk": {"nl": "Kenmerk", "en": "Reference"},
    "pdf_own_lookups_one": {
        "nl": "U heeft uw overzicht in deze periode 1 keer bekeken (niet hieronder opgenomen).",
        "en": "You viewed your overview once in this period (not listed below).",
    },
    "pdf_own_lookups_other": {
        "nl": "U heeft uw overzicht in deze periode {n} keer bekeken (niet hieronder opgenomen).",
        "en": "You viewed your overview {n} times in this period (not listed below).",
    },
    "bsn": {"nl": "BSN", "en": "BSN"},
    "demo_namens": {
        "nl": "BSN {g}, namens BSN {v} (machtiging)",
        "en": "BSN {g}, on behalf of BSN {v} (authorisation)",
    },
    "machtiging": {"nl": "Machtiging", "en": "Authorisation"},
    "machtiging_banner": {
        "nl": "U bekijkt de gegevens van iemand die u vertegenwoordigt, niet uw eigen gegevens. Uw inzage wordt "
        "vastgelegd als verwerking van u beiden.",
        "en": "You are viewing the data of someone you represent, not your own. Your viewing is logged as a "
        "processing of you both.",
    },
    "machtiging_unlogged": {
        "nl": "Inloggen met een machtiging kan nu niet: de inzage kon niet worden vastgelegd. Probeer het later "
        "opnieuw.",
        "en": "Logging in with an authorisation is not possible now: the viewing could not be logged. Please try "
        "again later.",
    },
    "pdf_namens": {
        "nl": "Opgevraagd door een gemachtigde namens de persoon met dit BSN.",
        "en": "Requested by an authorised representative on behalf of the person with this BSN.",
    },
}


def plural(key: str, n: int, lang: str, **values: object) -> str:
    """`key_one` for one, `key_other` for any other number (the CLDR plural categories of Dutch and English)."""
    return translate(f"{key}_{'one' if n == 1 else 'other'}", lang, n=n, **values)


def translate(key: str, lang: str, **values: object) -> str:
    texts = MESSAGES.get(key)
    if texts is None:
        return key
    text = texts.get(lang) or texts[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text
