"""The files behind every resource URL of the bundled snapshot, generated deterministically in memory,
with the real-world mess of ../shared/REAL_WORLD.md placed in the theme datasets (see MESS_CASES).

Each file comes from its own builder, fed a `random.Random` seeded with the file's key, so the bytes are the
same in every process and one file never changes because another one did. A key without a builder of its own
gets a plain file for its extension (`_by_extension`)."""
from __future__ import annotations

import datetime
import io
import json
import random
import re
import struct
import zipfile
from functools import lru_cache
from typing import Callable

from harvester.sandbox.sites import load_snapshot

SITES = ("cdmx", "federal", "infocdmx", "veracruz", "zapopan", "puebla", "mardelplata")
ALCALDIAS = ["Álvaro Obregón", "Azcapotzalco", "Benito Juárez", "Coyoacán", "Cuajimalpa de Morelos", "Cuauhtémoc",
             "Gustavo A. Madero", "Iztacalco", "Iztapalapa", "La Magdalena Contreras", "Miguel Hidalgo",
             "Milpa Alta", "Tláhuac", "Tlalpan", "Venustiano Carranza", "Xochimilco"]
SPELLINGS = ["Cuauhtémoc", "Cuauhtemoc", "CUAUHTÉMOC", "GUSTAVO A MADERO", "GUSTAVO A. MADERO"]

# mess case -> the file (site/dataset/file) that carries it; each comment quotes the REAL_WORLD.md line it models
MESS_CASES = {
    # "Latin-1 / cp1252 files whose first accented byte comes late in the file"
    "cp1252_late_accent": "cdmx/victimas-en-carpetas-de-investigacion-fgj/victimas_2019_2022.csv",
    # "UTF-8 with BOM"; "later files use snake_case"
    "utf8_bom_snake_case": "cdmx/victimas-en-carpetas-de-investigacion-fgj/victimas_2023.csv",
    # "the literal string `NaN` marks missing values" (Metrobús: fecha, anio, mes, linea, afluencia)
    "placeholder_nan": "cdmx/afluencia-diaria-de-metrobus-cdmx/afluenciamb_simple.csv",
    # "Sibling resources order their columns differently; the Tren Ligero file has no `linea`"
    "sibling_columns_differ": "cdmx/afluencia-diaria-de-metrobus-cdmx/afluencia_tl.csv",
    # "a 'desglosada' sibling adds `tipo_pago`. Mojibake in some years"
    "mojibake": "cdmx/afluencia-diaria-del-metro-cdmx-desglosada/afluenciastc_desglosado.csv",
    # "the encoding changes by year (... Latin-1 ...); some coordinates use a decimal comma"
    "decimal_comma_latin1": "cdmx/incidentes-viales-c5/incidentes_2019.csv",
    # "mixed DD/MM/YYYY and ISO dates"; "`Cuauhtémoc`, `Cuauhtemoc`, `CUAUHTÉMOC`; `GUSTAVO A MADERO` ..."
    "mixed_dates_spellings": "cdmx/incidentes-viales-c5/incidentes_2023.csv",
    # "Ciclo_EstacionArribo, Fecha_Arribo, Hora_Arribo (a header typo in recent files), dates DD/MM/YYYY"
    "dmy_dates_header_typo": "cdmx/ecobici-viajes/ecobici_2024_01.csv",
    # a row with a missing cell (file line 42) and a row with an extra one (file line 82)
    "ragged_rows": "cdmx/linea-mujeres/linea_mujeres.csv",
    # a `;` delimiter, as spreadsheet exports in Spanish locales write
    "semicolon_delimiter": "cdmx/estancias-infantiles/estancias.csv",
    # "Title and preamble rows before the real header (INEGI tables); notes rows at the bottom"
    "preamble_rows": "federal/encuesta_nacional_uso_del_tiempo_enut_2019/enut_2019.csv",
    # "WAFs and proxies answer with HTML pages, sometimes with status 200": a CSV link that serves a page
    "html_instead_of_file": "cdmx/llamadas-911/llamadas_911_s1.csv",
    # "Literal `NaN`, `N/D`, `NA`, `-` and empty strings as missing values": every 7th data row from row 155 on,
    # past the first 150 rows (and so past a 100-row type sample) in a column that is otherwise whole numbers
    "placeholder_nd": "cdmx/adultos-mayores-pension/adultos_mayores.csv",
    "placeholder_na": "cdmx/centros-de-salud/centros_salud.csv",
    "placeholder_dash": "federal/guarderias_imss/guarderias_imss.csv",
    # "XLSX with several sheets": a real openpyxl workbook, sheets "2023" and "2024"
    "xlsx_several_sheets": "cdmx/hechos-de-transito-ssc/hechos_transito.xlsx",
    # "mojibake already baked into UTF-8 text (`PeriodicidadÃ³n`, `ï»¿Conjunto de datos`)"
    "bom_mojibake_header": "cdmx/indice-de-desarrollo-social/ids_colonia.csv",
    # "older files have `ao_hechos` (the ñ of "año" lost)"
    "lost_enye_header": "cdmx/carpetas-de-investigacion-fgj-de-la-ciudad-de-mexico/carpetas_completa.csv",
    # "migrated datasets still carry `geo_point_2d`, `geo_shape` columns"
    "opendatasoft_columns": "cdmx/carpetas-de-investigacion-fgj-de-la-ciudad-de-mexico/carpetas_completa.csv",
    # "Latin-1 there refuses bytes 0x80-0x9F, which cp1252 uses for € “ ” – —"
    "cp1252_c1_bytes": "cdmx/presupuesto-de-egresos/presupuesto_2024.csv",
    # "Literal ... as missing values"; "Decimal commas": `sin dato` and `12,5` in `monto` at file lines 300 and 301,
    # type errors that a 100-row sample never sees
    "type_errors_late": "cdmx/fotocivicas/fotocivicas_2024.csv",
    # "notes rows" and gaps in exported sheets: one row of delimiters only (`,,,`) at file line 62
    "blank_row": "cdmx/cendi/cendi.csv",
    # "ZIP files holding CSV or shapefiles; GeoJSON", and a JSON table (an array of flat objects)
    "zip_with_csv": "cdmx/consumo-de-agua/consumo_agua_historico.zip",
    "shapefile_zip": "cdmx/infraestructura-ciclista/ciclovias.zip",
    "geojson": "cdmx/infraestructura-ciclista/ciclovias.geojson",
    "json_table": "cdmx/tramites-y-servicios/tramites.json",
}

# files a pack stacks with a sibling (issue 13): a later yearly file of the same table, its header spelt otherwise
STACKING_CASES = {
    # `año_hechos` where the older file has `ao_hechos` (the ñ lost), `FechaHechos` for `fecha_hechos`
    "yearly_enye_header": "cdmx/carpetas-de-investigacion-fgj-de-la-ciudad-de-mexico/carpetas_2024.csv",
    # a data dictionary resource beside the microdata (campo, descripción, and value labels of a coded column)
    "data_dictionary": "federal/encuesta_nacional_uso_del_tiempo_enut_2019/diccionario_enut_2019.csv",
}

PLACEHOLDER_FROM = 150  # data rows before the first placeholder
FIXED_TIME = datetime.datetime(2024, 1, 1)

Builder = Callable[[random.Random], bytes]
BUILDERS: dict[str, Builder] = {}


def builds(*keys: str) -> Callable[[Builder], Builder]:
    """Register a builder for the files with these keys."""
    def register(builder: Builder) -> Builder:
        for key in keys:
            BUILDERS[key] = builder
        return builder
    return register


# Helpers -------------------------------------------------------------------------------------------------

def _rows_csv(header: list[str], rows: list[list[object]], delimiter: str = ",") -> str:
    def cell(v: object) -> str:
        text = "" if v is None else str(v)
        return '"' + text.replace('"', '""') + '"' if (delimiter in text or '"' in text) else text
    return "\n".join([delimiter.join(header)] + [delimiter.join(cell(v) for v in r) for r in rows]) + "\n"


def _csv(header: list[str], rows: list[list[object]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    return _rows_csv(header, rows, delimiter).encode(encoding)


def _date(i: int, year: int = 2024, month: int | None = None) -> str:
    """An ISO date that walks the months (or stays in `month`) and days 1 to 28."""
    return f"{year}-{month or i % 12 + 1:02d}-{i % 28 + 1:02d}"


def _with_placeholder(header: list[str], rows: list[list[object]], column: str, placeholder: str) -> bytes:
    """`placeholder` in `column` of every 7th data row past the first PLACEHOLDER_FROM (data rows 155, 162, ...)."""
    index = header.index(column)
    for i, row in enumerate(rows):
        if i >= PLACEHOLDER_FROM and i % 7 == 0:
            row[index] = placeholder
    return _csv(header, rows)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A ZIP archive whose bytes depend only on the members (fixed entry times)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6])
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    """A real XLSX workbook (openpyxl, write-only), byte-identical on every run: fixed document dates and
    zip entry times."""
    import openpyxl  # a dependency through frictionless[excel]; imported only when files are built

    book = openpyxl.Workbook(write_only=True)
    book.properties.created = FIXED_TIME
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as saved:
        members = {info.filename: saved.read(info) for info in saved.infolist()}
    # openpyxl stamps the save time into docProps/core.xml whatever the properties say
    members["docProps/core.xml"] = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z",
                                          members["docProps/core.xml"])
    return zip_bytes(members)


# The theme datasets ----------------------------------------------------------------------------------------

def _victimas(rng: random.Random, late_accents: bool) -> str:
    header = ["idCarpeta", "Año_inicio", "FechaInicio", "Delito", "Sexo", "Edad", "AlcaldiaHechos", "latitud", "longitud"]
    rows = []
    for i in range(3000):
        alcaldia = "Iztapalapa" if (late_accents and i < 2800) else ALCALDIAS[i % 16]
        rows.append([8_000_000 + i, 2019 + i % 4, _date(i, 2019 + i % 4),
                     "ROBO A TRANSEUNTE" if i % 3 else "VIOLENCIA FAMILIAR", "Mujer" if i % 2 else "Hombre",
                     18 + i % 60, alcaldia, f"{19.3 + rng.random() / 5:.6f}", f"{-99.2 + rng.random() / 5:.6f}"])
    text = _rows_csv(header, rows)
    return text.replace("Año_inicio", "Ano_inicio") if late_accents else text  # keep the header ASCII too


@builds(MESS_CASES["cp1252_late_accent"])
def _victimas_2019_2022(rng: random.Random) -> bytes:
    return _victimas(rng, True).encode("cp1252")


@builds(MESS_CASES["utf8_bom_snake_case"])
def _victimas_2023(rng: random.Random) -> bytes:
    text = _victimas(rng, False).replace("idCarpeta", "id_carpeta").replace("Año_inicio", "anio_inicio")
    return b"\xef\xbb\xbf" + text.encode()


@builds(MESS_CASES["lost_enye_header"])
def _carpetas_completa(rng: random.Random) -> bytes:
    """`ao_hechos` for año_hechos; `geo_point_2d` ("lat,lon", quoted) and `geo_shape` from OpenDataSoft."""
    rows = [[2019 + i % 4, i % 12 + 1, _date(i, 2019 + i % 4), "ROBO DE VEHICULO", ALCALDIAS[i % 16],
             f"{19.3 + i / 10_000:.5f},{-99.2 + i / 10_000:.5f}",
             json.dumps({"type": "Point", "coordinates": [round(-99.2 + i / 10_000, 5), round(19.3 + i / 10_000, 5)]})]
            for i in range(400)]
    return _csv(["ao_hechos", "mes_hechos", "fecha_hechos", "delito", "alcaldia_hechos", "geo_point_2d", "geo_shape"],
                rows)


@builds(STACKING_CASES["yearly_enye_header"])
def _carpetas_2024(rng: random.Random) -> bytes:
    """The 2024 file of the same table: `año_hechos` spelt right, `FechaHechos` in camelCase, day-first dates."""
    rows = [[2024, i % 12 + 1, f"{i % 28 + 1:02d}/{i % 12 + 1:02d}/2024", "ROBO A TRANSEUNTE" if i % 2 else
             "ROBO DE VEHICULO", ALCALDIAS[(i * 5) % 16], f"{19.3 + i / 10_000:.5f},{-99.2 + i / 10_000:.5f}",
             json.dumps({"type": "Point", "coordinates": [round(-99.2 + i / 10_000, 5), round(19.3 + i / 10_000, 5)]})]
            for i in range(250)]
    return _csv(["año_hechos", "mes_hechos", "FechaHechos", "delito", "alcaldia_hechos", "geo_point_2d", "geo_shape"],
                rows)


def _metro(desglosado: bool) -> bytes:
    """Afluencia diaria del Metro: fecha, anio, mes, linea, estacion, afluencia; the desglosada sibling adds
    tipo_pago and carries mojibake (`Pino SuÃ¡rez`)."""
    header = ["fecha", "anio", "mes", "linea", "estacion"] + (["tipo_pago"] if desglosado else []) + ["afluencia"]
    rows = []
    for d in range(300):
        station = ("Pino SuÃ¡rez" if desglosado else "Pino Suárez") if d % 4 == 0 else "Zócalo"
        payment = ["Tarjeta" if d % 2 else "Boleto"] if desglosado else []
        rows.append([_date(d, month=2), 2024, 2, f"Línea {d % 12 + 1}", station] + payment + [1000 + d])
    return _csv(header, rows)


builds("cdmx/afluencia-diaria-del-metro-cdmx/afluenciastc_simple.csv")(lambda rng: _metro(False))
builds(MESS_CASES["mojibake"])(lambda rng: _metro(True))


@builds(MESS_CASES["placeholder_nan"])
def _metrobus(rng: random.Random) -> bytes:
    rows = [[_date(d, month=1), 2024, 1, f"Línea {d % 7 + 1}", "NaN" if d % 9 == 0 else 40_000 + d * 13]
            for d in range(300)]
    return _csv(["fecha", "anio", "mes", "linea", "afluencia"], rows)


@builds(MESS_CASES["sibling_columns_differ"])
def _tren_ligero(rng: random.Random) -> bytes:
    """The Metrobús dataset's Tren Ligero sibling: its columns in another order, and no `linea`."""
    rows = [[2024, 40_000 + d, _date(d, month=1), 1] for d in range(200)]
    return _csv(["anio", "afluencia", "fecha", "mes"], rows)


def _ecobici(month: int) -> bytes:
    """Viajes Ecobici: `Ciclo_EstacionArribo` (the header typo of recent files), dates DD/MM/YYYY."""
    day = [f"{i % 28 + 1:02d}/{month:02d}/2024" for i in range(500)]
    rows = [["M" if i % 3 else "F", 18 + i % 50, 10_000 + i, 100 + i % 40, day[i], f"{i % 24:02d}:0{i % 6}:00",
             100 + (i + 7) % 40, day[i], f"{i % 24:02d}:{10 + i % 50}:00"] for i in range(500)]
    return _csv(["Genero_Usuario", "Edad_Usuario", "Bici", "Ciclo_Estacion_Retiro", "Fecha_Retiro", "Hora_Retiro",
                 "Ciclo_EstacionArribo", "Fecha_Arribo", "Hora_Arribo"], rows)


builds(MESS_CASES["dmy_dates_header_typo"])(lambda rng: _ecobici(1))
builds("cdmx/ecobici-viajes/ecobici_2024_02.csv")(lambda rng: _ecobici(2))


@builds(MESS_CASES["decimal_comma_latin1"])
def _incidentes_2019(rng: random.Random) -> bytes:
    rows = [[f"C5/{i:06d}", _date(i, 2019, month=3), f"{i % 24:02d}:15:00", ALCALDIAS[i % 16], "Centro",
             f"{-99.1 - i / 10_000:.4f}".replace(".", ","), f"{19.4 + i / 10_000:.4f}".replace(".", ",")]
            for i in range(400)]
    return _csv(["folio", "fecha_creacion", "hora_creacion", "alcaldia_catalogo", "colonia_catalogo", "longitud",
                 "latitud"], rows, "latin-1")


@builds(MESS_CASES["mixed_dates_spellings"])
def _incidentes_2023(rng: random.Random) -> bytes:
    rows = [[f"C5/{i:06d}", _date(i, 2023, month=5) if i % 2 else f"{i % 28 + 1:02d}/05/2023", SPELLINGS[i % 5],
             f"{-99.1 - i / 10_000:.4f}", f"{19.4 + i / 10_000:.4f}"] for i in range(400)]
    return _csv(["folio", "fecha_creacion", "alcaldia_catalogo", "longitud", "latitud"], rows)


@builds(MESS_CASES["ragged_rows"])
def _linea_mujeres(rng: random.Random) -> bytes:
    lines = ["fecha,tematica,edad,alcaldia"]
    for i in range(120):
        line = f"{_date(i, month=3)},Violencia,{20 + i % 40},{ALCALDIAS[i % 16]}"
        lines.append(line.rsplit(",", 1)[0] if i == 40 else line + ",extra" if i == 80 else line)
    return ("\n".join(lines) + "\n").encode()


@builds(MESS_CASES["html_instead_of_file"])
def _waf_page(rng: random.Random) -> bytes:
    """What a WAF or a portal's error template answers, with status 200, where a CSV was promised."""
    return ("<!DOCTYPE html>\n<html lang=\"es\"><head><meta charset=\"utf-8\"><title>Datos Abiertos CDMX</title>"
            "</head>\n<body><h1>Solicitud bloqueada</h1><p>Su solicitud no pudo ser procesada. Intente más tarde."
            "</p></body></html>\n").encode()


@builds(MESS_CASES["bom_mojibake_header"])
def _ids_colonia(rng: random.Random) -> bytes:
    """UTF-8 text that was once read as cp1252: the BOM turned into `ï»¿` glued to the first column name, and
    `PeriodicidadÃ³n` in some values."""
    rows = [[f"09{i % 16 + 2:03d}", f"Colonia {i + 1}", ALCALDIAS[i % 16], f"{0.5 + (i % 50) / 100:.2f}",
             "PeriodicidadÃ³n anual" if i % 10 == 0 else "Anual"] for i in range(200)]
    bom_as_cp1252 = "\ufeff".encode().decode("cp1252")  # 'ï»¿'
    return _csv([bom_as_cp1252 + "Conjunto de datos", "colonia", "alcaldia", "ids", "periodicidad"], rows)


@builds(MESS_CASES["cp1252_c1_bytes"])
def _presupuesto_2024(rng: random.Random) -> bytes:
    """cp1252 bytes 0x80-0x9F in text: “ ” (0x93, 0x94), – (0x96), — (0x97), € (0x80)."""
    def description(i: int) -> str:
        if i % 5 == 0:
            return "“Programa de cuidados” – 2024"
        return "Cooperación internacional — aportación en €" if i % 25 == 3 else "Programa de movilidad"
    rows = [[f"{i + 1:03d}", description(i), ALCALDIAS[i % 16], 1_000_000 + i * 250] for i in range(200)]
    return _csv(["clave", "descripcion", "unidad_responsable", "monto"], rows, "cp1252")


@builds(MESS_CASES["type_errors_late"])
def _fotocivicas(rng: random.Random) -> bytes:
    late = {298: "sin dato", 299: "12,5"}  # data rows 299 and 300: file lines 300 and 301
    rows = [[f"FC{i:06d}", _date(i), ALCALDIAS[i % 16], late.get(i, 500 + i % 300)] for i in range(400)]
    return _csv(["folio", "fecha", "alcaldia", "monto"], rows)


@builds(MESS_CASES["blank_row"])
def _cendi(rng: random.Random) -> bytes:
    rows: list[list[object]] = [[i + 1, f"CENDI {i + 1}", ALCALDIAS[i % 16], 40 + i % 60] for i in range(120)]
    rows.insert(60, ["", "", "", ""])  # file line 62
    return _csv(["id", "nombre", "alcaldia", "capacidad"], rows)


@builds(MESS_CASES["placeholder_nd"])
def _adultos_mayores(rng: random.Random) -> bytes:
    rows = [[i + 1, ALCALDIAS[i % 16], 65 + i % 30, 3_100 + (i % 5) * 50] for i in range(300)]
    return _with_placeholder(["folio", "alcaldia", "edad", "monto_pension"], rows, "monto_pension", "N/D")


@builds(MESS_CASES["placeholder_na"])
def _centros_salud(rng: random.Random) -> bytes:
    rows = [[i + 1, f"Centro de Salud T-{i % 3 + 1} {i + 1}", ALCALDIAS[i % 16], 5 + i % 20] for i in range(250)]
    return _with_placeholder(["clues", "nombre", "alcaldia", "consultorios"], rows, "consultorios", "NA")


@builds(MESS_CASES["placeholder_dash"])
def _guarderias_imss(rng: random.Random) -> bytes:
    rows = [[f"GU{i:05d}", "Guardería IMSS", f"Estado {i % 32 + 1}", 60 + i % 200] for i in range(260)]
    return _with_placeholder(["clave", "nombre", "entidad", "capacidad"], rows, "capacidad", "-")


@builds(MESS_CASES["semicolon_delimiter"])
def _estancias(rng: random.Random) -> bytes:
    rows = [[i + 1, f"Estancia {i + 1}", ALCALDIAS[i % 16], 20 + i % 30] for i in range(150)]
    return _csv(["id", "nombre", "alcaldia", "capacidad"], rows, delimiter=";")


@builds(MESS_CASES["preamble_rows"])
def _enut_2019(rng: random.Random) -> bytes:
    rows = [[i + 1, 1 + i % 2, 12 + i % 80, f"{rng.uniform(50, 900):.2f}", 10 + i % 50] for i in range(400)]
    text = _rows_csv(["ID_PER", "SEXO", "EDAD_V", "FAC_PER", "HORAS_CUIDADO"], rows)
    return ("Encuesta Nacional sobre Uso del Tiempo (ENUT) 2019,,,,\nInstituto Nacional de Estadística y "
            "Geografía,,,,\n,,,,\n" + text + "Fuente: INEGI.,,,,\n").encode()


@builds(STACKING_CASES["data_dictionary"])
def _enut_dictionary(rng: random.Random) -> bytes:
    """The microdata's dictionary, as INEGI writes one: a field, its description, and a coded field's values and
    labels on the rows below it (the field cell left blank)."""
    return _csv(["Campo", "Descripción", "Valor", "Etiqueta"], [
        ["ID_PER", "Identificador de la persona", "", ""],
        ["SEXO", "Sexo de la persona", "1", "Hombre"], ["", "", "2", "Mujer"],
        ["EDAD_V", "Edad en años cumplidos", "", ""],
        ["FAC_PER", "Factor de expansión: cuántas personas representa cada registro", "", ""],
        ["HORAS_CUIDADO", "Horas a la semana dedicadas a cuidar a otras personas sin pago", "", ""]])


@builds(MESS_CASES["xlsx_several_sheets"])
def _hechos_transito(rng: random.Random) -> bytes:
    """SSC traffic events, one sheet a year: real date and time cells, 200 rows each."""
    def sheet(year: int) -> list[list[object]]:
        rows: list[list[object]] = [["fecha", "hora", "alcaldia", "tipo_evento", "lesionados", "latitud", "longitud"]]
        for i in range(200):
            rows.append([datetime.date(year, i % 12 + 1, i % 28 + 1), datetime.time(i % 24, i % 60),
                         ALCALDIAS[i % 16], "CHOQUE" if i % 3 else "ATROPELLADO", i % 4,
                         round(19.3 + rng.random() / 5, 6), round(-99.2 + rng.random() / 5, 6)])
        return rows
    return workbook({str(year): sheet(year) for year in (2023, 2024)})


@builds("federal/xalapa-presupuesto-2016/xal_presupuesto.xlsx")
def _xalapa_presupuesto(rng: random.Random) -> bytes:
    """A municipal budget workbook with two sheets: income and spending."""
    header = ["capitulo", "concepto", "monto"]
    return workbook({kind: [header] + [[(i + 1) * 1000, f"{kind.capitalize()} {i + 1}", rng.randint(10_000, 900_000)]
                                       for i in range(20)] for kind in ("ingresos", "egresos")})


@builds(MESS_CASES["json_table"])
def _tramites(rng: random.Random) -> bytes:
    """An array of 100 flat objects with eight keys each: text, numbers and booleans."""
    offices = ["Secretaría de Movilidad", "Secretaría de Salud", "Registro Civil", "Tesorería", "SEDEMA"]
    records = [{"id_tramite": f"TR-{i + 1:04d}", "nombre": f"Trámite {i + 1}", "dependencia": offices[i % 5],
                "alcaldia": ALCALDIAS[i % 16], "modalidad": "en línea" if i % 3 else "presencial",
                "costo": 0 if i % 4 == 0 else round(rng.uniform(50, 2000), 2), "dias_respuesta": 1 + i % 30,
                "requiere_cita": i % 2 == 0} for i in range(100)]
    return json.dumps(records, ensure_ascii=False, indent=1).encode()


@builds(MESS_CASES["zip_with_csv"])
def _consumo_agua(rng: random.Random) -> bytes:
    rows = [[2019 + i % 5, 1 + i % 6, ALCALDIAS[i % 16], f"Colonia {i % 40 + 1}", round(rng.uniform(5, 90), 2)]
            for i in range(300)]
    return zip_bytes({"consumo_agua_historico.csv": _csv(["anio", "bimestre", "alcaldia", "colonia", "consumo_m3"],
                                                         rows)})


# Any other file --------------------------------------------------------------------------------------------

def _generic(rng: random.Random, name: str) -> bytes:
    rows = [[i + 1, f"{name} {i + 1}", ALCALDIAS[(i * 7) % 16], _date(i), rng.randint(0, 5000)] for i in range(200)]
    return _csv(["id", "nombre", "alcaldia", "fecha", "valor"], rows)


def _generic_workbook(rng: random.Random) -> bytes:
    rows = [[i + 1, f"Registro {i + 1}", ALCALDIAS[i % 16], rng.randint(0, 5000)] for i in range(50)]
    return workbook({"datos": [["id", "nombre", "alcaldia", "valor"]] + rows})


def _geojson(rng: random.Random) -> bytes:
    features = [{"type": "Feature", "properties": {"nombre": ALCALDIAS[i % 16]},
                 "geometry": {"type": "Point", "coordinates": [-99.2 + i / 100, 19.3 + i / 100]}} for i in range(20)]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


DbfField = tuple[str, str, int, int]
"""A dBase field: name (up to 10 ASCII letters), type (C, N, D or L), length, decimals."""


def _dbf_value(value: object, kind: str, length: int, decimals: int, encoding: str) -> bytes:
    if value is None:
        return b" " * length
    if kind == "C":
        return str(value).encode(encoding).ljust(length)[:length]
    if kind == "N":
        return (f"{value:.{decimals}f}" if decimals else str(value)).encode().rjust(length)[:length]
    if kind == "D":
        return value.strftime("%Y%m%d").encode() if isinstance(value, datetime.date) else b" " * 8
    return b"T" if value else b"F"


def dbf_bytes(fields: list[DbfField], records: list[list[object]], encoding: str = "cp1252",
              language_driver: int = 0x57) -> bytes:
    """A dBase III table as shapefile writers write it: a 32-byte header (version 3, last update 2024-01-01,
    record count, header and record lengths, the language driver byte at offset 29: 0x57 is ANSI, cp1252),
    32 bytes per field, 0x0D, the records (each after a ' ': not deleted), 0x1A."""
    header_length = 32 + 32 * len(fields) + 1
    record_length = 1 + sum(length for _, _, length, _ in fields)
    header = bytearray(struct.pack("<BBBBIHH20x", 0x03, 124, 1, 1, len(records), header_length, record_length))
    header[29] = language_driver
    descriptors = b"".join(struct.pack("<11sc4xBB14x", name.encode("ascii"), kind.encode("ascii"), length, decimals)
                           for name, kind, length, decimals in fields)
    body = b"".join(b" " + b"".join(_dbf_value(value, kind, length, decimals, encoding)
                                    for value, (_, kind, length, decimals) in zip(record, fields))
                    for record in records)
    return bytes(header) + descriptors + b"\r" + body + b"\x1a"


CICLOVIA_FIELDS: list[DbfField] = [("ID", "N", 4, 0), ("NOMBRE", "C", 40, 0), ("ALCALDIA", "C", 30, 0),
                                   ("CVE_MUN", "C", 3, 0), ("LONG_KM", "N", 6, 2), ("INAUGURA", "D", 8, 0),
                                   ("CONFINADA", "L", 1, 0)]


def _shapefile_zip(stem: str, rng: random.Random) -> bytes:
    """A shapefile's members: the geometry files are placeholders (never read as tables), the attribute table
    a real dBase III file in cp1252 as its language driver byte says, with INEGI's zero-padded municipal key
    (CVE_MUN '003') in a character field."""
    records: list[list[object]] = [
        [i + 1, f"Ciclovía {['Reforma', 'Insurgentes', 'Tlalpan', 'Río Churubusco'][i % 4]} tramo {i + 1}",
         ALCALDIAS[i % 16], f"{(i % 16) + 2:03d}", round(rng.uniform(0.3, 12), 2),
         datetime.date(2010 + i % 14, i % 12 + 1, i % 28 + 1), i % 3 != 0] for i in range(30)]
    return zip_bytes({f"{stem}.shp": bytes(100), f"{stem}.shx": bytes(100),
                      f"{stem}.dbf": dbf_bytes(CICLOVIA_FIELDS, records), f"{stem}.prj": b'GEOGCS["WGS 84"]'})


FIXED_BODIES = {
    "html": b"<!DOCTYPE html><html><head><title>Mapa</title></head><body><div id='mapa'></div></body></html>",
    "pdf": b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
    "kml": b'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>',
    "xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),  # an OLE2 signature, nothing more
}


def _by_extension(key: str, fmt: str, rng: random.Random) -> bytes:
    """A plain file of the kind the key's extension (and, for a ZIP, the declared format) says."""
    stem, _, extension = key.rsplit("/", 1)[-1].rpartition(".")
    extension = {"htm": "html", "xml": "kml"}.get(extension.lower(), extension.lower())
    if extension in FIXED_BODIES:
        return FIXED_BODIES[extension]
    if extension == "geojson":
        return _geojson(rng)
    if extension == "json":
        return json.dumps([{"id": i, "alcaldia": ALCALDIAS[i % 16]} for i in range(50)], ensure_ascii=False).encode()
    if extension == "xlsx":
        return _generic_workbook(rng)
    if extension == "zip":
        return _shapefile_zip(stem, rng) if fmt.upper() == "SHP" else zip_bytes({f"{stem}.csv": _generic(rng, "zip")})
    return _generic(rng, key.rsplit("/", 2)[-2])


def _content(key: str, fmt: str, rng: random.Random) -> bytes:
    builder = BUILDERS.get(key)
    return builder(rng) if builder is not None else _by_extension(key, fmt, rng)


@lru_cache(maxsize=1)
def resource_files() -> dict[str, bytes]:
    """Bytes for every resource file of the snapshot, keyed by '<site>/<dataset>/<file>'."""
    files: dict[str, bytes] = {}
    for site in SITES:
        for dataset in load_snapshot(site):
            for resource in dataset.get("resources") or []:
                url = str(resource.get("url") or "")
                if "{sandbox}/files/" in url:
                    key = url.split("{sandbox}/files/", 1)[1]
                    files[key] = _content(key, str(resource.get("format") or ""), random.Random(key))
    return files
