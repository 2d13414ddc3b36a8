"""Place and calendar names that are also census first names ("Georgia", "Jordan", "Austin").

A capitalised word from the census first-name lists is weak evidence of a person when it is also
a country, a US state, a major city, a continent, a month or a weekday: "autumn in Georgia",
"Jordan compared to Chad". The name recognizers ask for context before such a word becomes a
PERSON on its own (a surname after it, "Mr", "tell", a name joined to it by "and"...).

Hand-written, lower case, matched against single words and two-word names ("virginia beach").
Countries follow ISO 3166 short names; cities are the largest and best-known ones worldwide and
in the US, where confusing one with a first name is likely.
"""

from __future__ import annotations

import re

_COUNTRIES = """
afghanistan albania algeria andorra angola antigua argentina armenia australia austria
azerbaijan bahamas bahrain bangladesh barbados belarus belgium belize benin bhutan bolivia
bosnia botswana brazil brunei bulgaria burkina burundi cambodia cameroon canada chad chile china
colombia comoros congo croatia cuba cyprus czechia czech denmark djibouti dominica ecuador egypt
salvador england eritrea estonia eswatini ethiopia fiji finland france gabon gambia georgia
germany ghana greece grenada guatemala guinea guyana haiti holland honduras hungary iceland india
indonesia iran iraq ireland israel italy jamaica japan jordan kazakhstan kenya kiribati korea
kosovo kuwait kyrgyzstan laos latvia lebanon lesotho liberia libya liechtenstein lithuania
luxembourg madagascar malawi malaysia maldives mali malta mauritania mauritius mexico micronesia
moldova monaco mongolia montenegro morocco mozambique myanmar burma namibia nauru nepal
netherlands zealand nicaragua niger nigeria macedonia norway oman pakistan palau palestine panama
paraguay peru philippines poland portugal qatar romania russia rwanda samoa marino senegal serbia
seychelles sierra singapore slovakia slovenia somalia spain lanka sudan suriname sweden
switzerland syria taiwan tajikistan tanzania thailand timor togo tonga trinidad tobago tunisia
turkey turkiye turkmenistan tuvalu uganda ukraine emirates uruguay uzbekistan vanuatu vatican
venezuela vietnam yemen zambia zimbabwe scotland wales britain america greenland
"""
_US_STATES = """
alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii
idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan
minnesota mississippi missouri montana nebraska nevada hampshire jersey mexico york carolina
dakota ohio oklahoma oregon pennsylvania rhode tennessee texas utah vermont virginia washington
wisconsin wyoming
"""
_REGIONS = """
africa asia europe oceania antarctica arctic americas eurasia caribbean scandinavia balkans
siberia patagonia sahara himalaya himalayas alps rockies andes appalachia midwest
"""
_CITIES = """
amsterdam athens atlanta auckland austin baltimore bangalore bangkok barcelona beijing berlin
bogota boise boston brisbane brussels budapest cairo calgary charleston charlotte chicago
cincinnati cleveland columbus copenhagen dallas delhi denver detroit dubai dublin edinburgh
florence frankfurt geneva glasgow hamburg helsinki honolulu houston indianapolis istanbul jakarta
jackson johannesburg kyiv kiev lagos lima lisbon london madison madrid manchester manila
melbourne memphis miami milan milwaukee montreal moscow mumbai munich nairobi nashville orlando
osaka oslo ottawa paris perth philadelphia phoenix pittsburgh portland prague raleigh reno rome
sacramento santiago savannah seattle seoul shanghai sydney tokyo toronto tucson vancouver venice
victoria vienna warsaw wellington zurich adelaide alexandria augusta aurora austin boulder
cambridge camden dayton durham fresno hartford helena jacksonville lincoln
lafayette laredo lansing lexington louisville mesa montgomery omaha oxford pasadena
richmond riverside salem sheffield springfield valencia verona york
"""
_TWO_WORD_PLACES = """
virginia beach|new york|new jersey|new mexico|new zealand|new hampshire|new orleans|new delhi
|north carolina|south carolina|north dakota|south dakota|west virginia|rhode island|sri lanka
|san francisco|san diego|san jose|san antonio|los angeles|las vegas|salt lake|santa clara
|santa monica|santa fe|hong kong|buenos aires|rio de|sao paulo|cape town|tel aviv|abu dhabi
|el paso|fort worth|kansas city|oklahoma city|st louis|saint louis|palo alto|costa rica
|puerto rico|saudi arabia|south africa|south korea|north korea|united states|united kingdom
|czech republic|ivory coast|el salvador|sierra leone
"""
_MONTHS_AND_DAYS = """
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday
"""

#: Single lower-case words naming a country, US state, region, major city, month or weekday.
PLACE_WORDS = frozenset(
    re.findall(r"\S+", _COUNTRIES + _US_STATES + _REGIONS + _CITIES + _MONTHS_AND_DAYS)
)
#: Lower-case two-word place names ("virginia beach", "santa clara").
TWO_WORD_PLACES = frozenset(part.strip() for part in _TWO_WORD_PLACES.split("|"))
#: Words that, after a first name, make it a place rather than a person ("Jordan Valley").
PLACE_SUFFIXES = frozenset(
    re.findall(
        r"\S+",
        "beach city county valley bay island islands springs falls lake lakes river mountains "
        "hills heights harbor harbour port park coast state states province republic",
    )
)


def is_place(word: str) -> bool:
    """Whether `word` (any case) is a country, US state, region, major city, month or weekday."""
    return word.casefold() in PLACE_WORDS


def is_place_pair(first: str, second: str) -> bool:
    """Whether two words name a place ("Virginia Beach", "Austin Texas", "Jordan Valley")."""
    pair = f"{first.casefold()} {second.casefold()}"
    if pair in TWO_WORD_PLACES:
        return True
    return is_place(first) and (is_place(second) or second.casefold() in PLACE_SUFFIXES)
